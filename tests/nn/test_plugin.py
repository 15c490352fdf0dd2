"""A user's own layer: loaded only from what the user hands over, admitted only with a proved backward."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from backprop_cli.config.load import load_config
from backprop_cli.diagnostics.admission import admit, admit_plugins
from backprop_cli.errors import ConfigError
from backprop_cli.nn.model import build_model
from backprop_cli.nn.plugin import Plugin
from backprop_cli.nn.plugin_source import PluginError, provide_file, sha256_of

from .layer_specs import PLUGIN_FILE

GOOD = PLUGIN_FILE.read_text()
FORWARD = "        return x * self._s\n"
BACKWARD = "        return dy * s + ds * beta  # product rule: y = x * s(beta x)\n"
DBETA = '        self.grads["beta"][...] = np.sum(ds * x, axis=0)  # (F,): d(beta x)/d beta = x\n'


def variant(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """The fixture plugin with one line changed, as a file of its own."""
    assert old in GOOD
    path = tmp_path / name
    path.write_text(GOOD.replace(old, new))
    return path


def built(path: Path, shape=(4,), args=None) -> Plugin:
    provide_file(path, where="test")
    layer = Plugin(str(path), "LearnedSwish", args or {"beta": 1.5})
    layer.build(shape, np.random.default_rng(0), np.float64)
    return layer


def refusal(layer: Plugin) -> PluginError:
    with pytest.raises(PluginError) as info:
        admit(layer, "model.layers.1")
    assert info.value.where == "model.layers.1"
    return info.value


def test_a_plugin_whose_backward_matches_its_forward_is_admitted():
    admit(built(PLUGIN_FILE, shape=(6,)), "model.layers.0")


@pytest.mark.parametrize(
    "old, new, tensor",
    [
        (BACKWARD, "        return dy * s + ds\n", "dx"),  # the factor beta of the inner derivative forgotten
        (DBETA, DBETA.replace("ds * x", "ds"), "dbeta"),  # d(beta x)/d beta taken as 1
    ],
)
def test_a_wrong_backward_is_refused_naming_the_file_class_tensor_and_relative_error(tmp_path, old, new, tensor):
    err = refusal(built(variant(tmp_path, "wrong.py", old, new)))
    assert re.search(rf"wrong\.py:LearnedSwish {tensor}: relative error \d\.\de[+-]\d\d > 1e-06", err.what), err.what
    assert "your backward does not match your forward" in str(err)


@pytest.mark.parametrize(
    "old, new, stage, message",
    [
        (FORWARD, "        raise ValueError('beta went astray')\n", "forward", "ValueError: beta went astray"),
        (FORWARD, "        return x @ np.ones((3, 3))\n", "forward", "ValueError: matmul"),  # raised inside NumPy
        (BACKWARD, "        return dy * s + ds * beta.T()\n", "backward", "TypeError: 'numpy.ndarray' object"),
    ],
)
def test_a_plugin_that_raises_is_one_message_ending_in_its_own_line(tmp_path, old, new, stage, message):
    path = variant(tmp_path, "raises.py", old, new)
    err = refusal(built(path))
    line = GOOD[: GOOD.index(old)].count("\n") + 1
    assert f"raises.py:LearnedSwish {stage} raised {message}" in err.what
    assert f"(raises.py, line {line}, in {stage}: {new.strip()})" in err.what
    assert "backprop_cli" not in err.what  # our frames are never the user's answer


@pytest.mark.parametrize(
    "old, new, message",
    [
        (FORWARD, "        return x[:, :1]\n", "forward returned shape (3, 1) for the output, expected shape (3, 4)"),
        (BACKWARD, "        return (dy * s + ds * beta).sum(axis=1)\n", "backward returned shape (3,) for dx"),
        (FORWARD, "        return x * self._s * np.nan\n", "forward gives NaN or infinite values in its output"),
        (DBETA, '        self.grads["beta"] = np.sum(ds * x, axis=0)\n', "backward replaced grads['beta']"),
    ],
)
def test_a_plugin_breaking_the_contract_is_refused_with_what_it_broke(tmp_path, old, new, message):
    assert message in refusal(built(variant(tmp_path, "broken.py", old, new))).what


def test_every_plugin_of_a_built_model_is_checked_at_the_shape_it_was_built_for(tmp_path):
    wrong = variant(tmp_path, "wrong.py", BACKWARD, "        return dy * s\n")
    provide_file(wrong, where="test")
    inner = {"type": "plugin", "path": str(wrong), "class": "LearnedSwish"}
    specs = [{"type": "dense", "units": 5}, {"type": "residual", "layers": [{"type": "dense", "units": 5}, inner]}]
    model = build_model(specs, (3,), np.random.default_rng(0), np.float64)
    with pytest.raises(PluginError, match=r"wrong\.py:LearnedSwish dx") as info:
        admit_plugins(model)
    assert info.value.where == "model.layers.1.layers.1"


def test_a_plugin_is_built_only_from_code_handed_over_with_the_hash_it_names(tmp_path):
    path = tmp_path / "never_given.py"
    path.write_text(GOOD)
    with pytest.raises(PluginError, match="pass --plugin never_given.py") as info:
        Plugin(str(path), "LearnedSwish", {}, sha256_of(GOOD + "# trained with another version\n"))
    assert "never run from a checkpoint or a run directory" in info.value.what


def test_another_version_of_the_file_is_refused_naming_both_hashes(tmp_path):
    edited = variant(tmp_path, "learned_swish.py", FORWARD, FORWARD + "        # edited\n")
    given = provide_file(edited, where="test")
    trained_with = sha256_of(GOOD + "# the version it was trained with\n")
    with pytest.raises(PluginError) as info:
        Plugin(str(edited), "LearnedSwish", {}, trained_with)
    assert trained_with in info.value.what and given.sha256 in info.value.what


CONFIG = """\
data: {dataset: iris}
model:
  layers:
    - {type: dense, units: 4}
    - type: plugin
      path: PATH
      class: CLASS
      args: ARGS
    - {type: dense, units: 3}
"""


def config_file(tmp_path: Path, path="plugins/swish.py", cls="LearnedSwish", args="{beta: 1.5}") -> Path:
    (tmp_path / "plugins").mkdir(exist_ok=True)
    (tmp_path / "plugins" / "swish.py").write_text(GOOD)
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(CONFIG.replace("PATH", path).replace("CLASS", cls).replace("ARGS", args))
    return cfg


def test_loading_a_config_reads_the_plugin_beside_it_and_records_its_hash(tmp_path, monkeypatch):
    monkeypatch.chdir(Path("/"))  # relative to the config file's folder, not the current directory
    spec = load_config(config_file(tmp_path)).config.model.layers[1]
    assert spec.path == str(tmp_path / "plugins" / "swish.py")
    assert spec.sha256 == sha256_of(GOOD) and spec.class_ == "LearnedSwish" and spec.args == {"beta": 1.5}


@pytest.mark.parametrize(
    "change, where, what",
    [
        ({"args": "{bta: 1.5}"}, "exp.yaml:8", "model.layers.1.args.bta: LearnedSwish has no argument 'bta'"),
        ({"cls": "LearnedSwsh"}, "exp.yaml:7", "model.layers.1.class: swish.py defines no class 'LearnedSwsh'"),
        ({"path": "plugins/swish2.py"}, "exp.yaml:6", "model.layers.1.path: plugin file not found"),
    ],
)
def test_a_plugin_mistake_in_the_config_is_placed_at_its_line(tmp_path, change, where, what):
    with pytest.raises(ConfigError) as info:
        load_config(config_file(tmp_path, **change))
    assert info.value.where.endswith(f"/{where}") and info.value.what.startswith(what)
    if "args" in change or "cls" in change:
        assert info.value.fix in ("did you mean 'beta'?", "did you mean 'LearnedSwish'?")


def test_a_pinned_hash_refuses_another_version_of_the_file(tmp_path):
    cfg = config_file(tmp_path)
    cfg.write_text(cfg.read_text().replace("      args:", f"      sha256: {'ab' * 32}\n      args:"))
    with pytest.raises(ConfigError, match=f"has sha256 {sha256_of(GOOD)}, but the config pins {'ab' * 32}"):
        load_config(cfg)


def test_gradcheck_explain_and_trace_show_a_plugin_like_any_layer(tmp_path):
    from backprop_cli.diagnostics.gradcheck import run_gradcheck
    from backprop_cli.teach.explain import explain_network
    from backprop_cli.teach.trace import run_trace

    config = load_config(config_file(tmp_path)).config
    label = "plugin(swish.py:LearnedSwish)"
    report = run_gradcheck(config, rows=4)
    rows = {e.name: e for e in report.entries if e.layer == "1"}
    assert set(rows) == {"1.beta", "1.x"} and {e.layer_type for e in rows.values()} == {label}
    assert report.passed
    explained = {row["name"]: row for row in explain_network(config)["layers"]}
    assert explained["1"]["type"] == label and explained["1"]["params"] == {"beta": [4]}
    step = run_trace(config, steps=1)["steps"][0]
    assert [row["type"] for row in step["forward"]][1] == label


def test_explain_trace_and_lr_find_refuse_a_plugin_whose_backward_is_wrong(tmp_path):
    from backprop_cli.diagnostics.gradcheck import run_gradcheck
    from backprop_cli.teach.explain import explain_network

    cfg = config_file(tmp_path)
    (tmp_path / "plugins" / "swish.py").write_text(GOOD.replace(BACKWARD, "        return dy * s\n"))
    config = load_config(cfg).config
    with pytest.raises(PluginError, match=r"swish\.py:LearnedSwish dx: relative error"):
        explain_network(config)  # build_parts admits it first, as for trace, lr-find and train
    report = run_gradcheck(config, rows=4)  # gradcheck itself shows the failure in its table
    failed = [e.name for e in report.failed]  # the layers below get their gradients through it
    assert "1.x" in failed and not [name for name in failed if name.startswith("2.")]


def test_the_public_layer_class_is_imported_on_first_use_only():
    import subprocess
    import sys

    probe = (
        "import sys, backprop_cli\n"
        "print('numpy' in sys.modules)\n"  # `backprop --version` stays fast
        "from backprop_cli import Layer\n"
        "from backprop_cli.nn.base import Layer as Base\n"
        "print(Layer is Base, 'numpy' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "True", "True"], done.stderr
