"""A user's layer through the CLI: it trains, a wrong one is refused before any run exists, and a run
directory never runs its code (eval, predict, resume need --plugin FILE with the hash it trained with)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors import safe_open

from backprop_cli.nn.plugin_source import sha256_of

from .conftest import backprop, err, out

FIXTURE = (Path(__file__).parents[1] / "nn" / "plugins" / "learned_swish.py").read_text()
CONFIG = """\
name: plug
seed: 0
data: {dataset: iris}
model:
  layers:
    - {type: dense, units: 16}
    - {type: plugin, path: PLUGIN, class: LearnedSwish, args: {beta: 1.5}}
    - {type: dense, units: 3}
optimizer: {type: adam, lr: 0.03}
training: {epochs: 6, batch_size: 16}
"""


def write_config(folder: Path, plugin: str) -> Path:
    path = folder / f"{Path(plugin).stem}.yaml"
    path.write_text(CONFIG.replace("PLUGIN", plugin))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run trained with a plugin whose module, when executed, leaves a marker file: (folder, run, marker)."""
    folder = tmp_path_factory.mktemp("plugin")
    marker = folder / "executed"
    (folder / "swish.py").write_text(f"open({str(marker)!r}, 'a').close()\n{FIXTURE}")
    result = backprop("train", str(write_config(folder, "swish.py")), "--runs-dir", str(folder / "runs"), "--quiet")
    assert result.returncode == 0, err(result)
    assert marker.exists()  # the user ran a config naming the file: its code ran
    marker.unlink()
    return folder, Path(out(result).strip()), marker


def test_a_plugin_trains_and_its_run_records_the_file_class_and_hash(trained):
    folder, run, _ = trained
    text = (folder / "swish.py").read_text()
    assert (run / "plugins" / "swish.py").read_text() == text  # a copy for provenance
    with safe_open(run / "checkpoints" / "last.safetensors", "np") as f:
        meta = json.loads(f.metadata()["backprop"])
        beta = f.get_tensor("model.1.beta")
    record = {"layer": "model.layers.1", "file": "swish.py", "class": "LearnedSwish", "sha256": sha256_of(text)}
    assert meta["plugins"] == [record]
    assert beta.shape == (16,) and not (beta == 1.5).all()  # the plugin's own parameter was trained
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["layers"]["1"]["grad_norm"] > 0  # the gradient-flow monitor shows it like any layer
    assert last["val_accuracy"] >= 0.8


def test_a_run_directory_never_executes_its_plugin(trained):
    folder, run, marker = trained
    for args in (
        ["eval", str(run)],
        ["predict", str(run), "-"],
        ["runs", "list", str(run.parent)],
        ["runs", "show", str(run)],
        ["plot", str(run), "-o", str(folder / "curves.png")],
    ):
        result = backprop(*args, stdin=b"5.1,3.5,1.4,0.2\n")
        assert result.returncode in (0, 2), err(result)
        assert not marker.exists(), f"`backprop {args[0]}` executed the plugin"
    assert (folder / "curves.png").stat().st_size > 0


def test_eval_needs_the_plugin_file_with_the_hash_it_trained_with(trained, tmp_path):
    folder, run, _ = trained
    without = backprop("eval", str(run))
    assert without.returncode == 2
    assert "swish.py:LearnedSwish is a plugin layer" in err(without) and "pass --plugin swish.py" in err(without)
    given = backprop("eval", str(run), "--plugin", str(folder / "swish.py"), "--json")
    assert given.returncode == 0, err(given)
    assert json.loads(out(given))["accuracy"] >= 0.8
    edited = tmp_path / "swish.py"
    edited.write_text((folder / "swish.py").read_text() + "# edited\n")
    changed = backprop("eval", str(run), "--plugin", str(edited))
    assert changed.returncode == 2
    trained_with, given_now = sha256_of((folder / "swish.py").read_text()), sha256_of(edited.read_text())
    assert trained_with in err(changed) and given_now in err(changed)


def test_resume_runs_the_plugin_only_from_the_file_given(trained):
    folder, run, _ = trained
    more = ("--set", "training.epochs=7", "--quiet")
    refused = backprop("train", "--resume", str(run), *more)
    assert refused.returncode == 2 and "pass --plugin swish.py" in err(refused)
    resumed = backprop("train", "--resume", str(run), *more, "--plugin", str(folder / "swish.py"))
    assert resumed.returncode == 0, err(resumed)
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 7


def test_a_wrong_backward_is_refused_before_any_run_directory_exists(tmp_path):
    wrong = FIXTURE.replace("return dy * s + ds * beta", "return dy * s")
    (tmp_path / "wrong.py").write_text(wrong)
    result = backprop("train", str(write_config(tmp_path, "wrong.py")), "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 2 and "Traceback" not in err(result)
    assert "model.layers.1: wrong.py:LearnedSwish dx: relative error" in err(result)
    assert not (tmp_path / "runs").exists()
