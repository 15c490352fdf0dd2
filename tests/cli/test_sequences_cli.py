"""Sequences through the CLI: train, eval and gradcheck recurrent and conv1d nets; bad shapes are exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from tests.cli.conftest import backprop, err, out

ADDING = """\
name: tiny-adding
seed: 1
data: {{dataset: adding, length: 8, n_samples: 200, scale: none, scale_target: false}}
model:
  layers:
    - {{type: {cell}, units: 6, bidirectional: true}}
    - {{type: dense, units: 1}}
loss: mse
optimizer: {{type: adam, lr: 0.01}}
training: {{epochs: 2, batch_size: 32}}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_recurrent_run_records_time_grad_norm_and_saves_w_u_b_with_reverse(cell, tmp_path):
    config = write(tmp_path, "adding.yaml", ADDING.format(cell=cell))
    result = backprop("train", str(config), "--runs-dir", str(tmp_path / "runs"), "--quiet")
    assert result.returncode == 0, err(result)
    run = Path(out(result).strip())
    record = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert set(record["layers"]["0"]["time_grad_norm"]) == {"first", "middle", "last"}
    names = set(load_file(run / "checkpoints" / "last.safetensors"))
    assert {"model.0.W", "model.0.U", "model.0.b", "model.0.W_reverse", "model.0.U_reverse"} <= names
    scored = backprop("eval", str(run), "--json")
    assert scored.returncode == 0, err(scored)
    assert "mse" in json.loads(out(scored))


def test_gradcheck_covers_the_recurrent_layer(tmp_path):
    config = write(tmp_path, "adding.yaml", ADDING.format(cell="lstm"))
    result = backprop("gradcheck", str(config), "--json")
    assert result.returncode == 0, err(result) + out(result)
    assert "0.U_reverse" in out(result)


def test_a_users_n_c_l_file_keeps_its_shape_through_train_eval_and_predict(tmp_path, rng):
    x = rng.standard_normal((120, 3, 10)).astype(np.float32)
    y = rng.integers(0, 2, 120)
    np.savez(tmp_path / "seq.npz", x=x, y=y)
    np.save(tmp_path / "rows.npy", x[:4])
    config = write(
        tmp_path,
        "seq.yaml",
        "data: {path: seq.npz}\nmodel:\n  layers:\n"
        "    - {type: conv1d, filters: 4, kernel_size: 3, padding: same, activation: relu}\n"
        "    - {type: global_avgpool}\n    - {type: dense, units: 2}\ntraining: {epochs: 1, batch_size: 32}\n",
    )
    trained = backprop("train", str(config), "--runs-dir", str(tmp_path / "runs"), "--quiet")
    assert trained.returncode == 0, err(trained)
    run = out(trained).strip()
    assert json.loads((Path(run) / "summary.json").read_text())["status"] == "completed"
    scored = backprop("eval", run, "--data", f"path={tmp_path / 'seq.npz'}", "--json")
    assert scored.returncode == 0, err(scored)
    predicted = backprop("predict", run, str(tmp_path / "rows.npy"))
    assert predicted.returncode == 0, err(predicted)
    assert len(out(predicted).split()) == 4


@pytest.mark.parametrize(
    "layers, data, message",
    [
        (
            "    - {type: flatten}\n    - {type: gru, units: 4}\n    - {type: dense, units: 1}\n",
            "{dataset: adding, length: 6, n_samples: 50}",
            "model.layers.1: a gru layer needs sequences of shape (C, L), but its input has shape (12,)",
        ),
        (
            "    - {type: conv1d, filters: 4, kernel_size: 3}\n    - {type: dense, units: 10}\n",
            "{dataset: digits}",
            "model.layers.0: a conv1d layer needs sequences of shape (C, L), but its input has shape (1, 8, 8)",
        ),
    ],
)
def test_a_sequence_layer_on_the_wrong_shape_is_exit_2_naming_layer_and_shapes(layers, data, message, tmp_path):
    config = write(tmp_path, "bad.yaml", f"data: {data}\nmodel:\n  layers:\n{layers}")
    result = backprop("train", str(config), "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 2 and message in err(result) and "Traceback" not in err(result)
    assert "{type: reshape, shape:" in err(result)


def test_integer_token_ids_given_to_an_lstm_say_what_to_do(tmp_path, rng):
    np.savez(tmp_path / "tokens.npz", x=rng.integers(0, 20, (40, 12)), y=rng.integers(0, 2, 40))
    config = write(
        tmp_path,
        "tokens.yaml",
        "data: {path: tokens.npz}\nmodel:\n  layers:\n    - {type: lstm, units: 4}\n    - {type: dense, units: 2}\n",
    )
    result = backprop("train", str(config), "--runs-dir", str(tmp_path / "runs"))
    text = err(result)
    assert result.returncode == 2 and "Traceback" not in text
    assert "its input has shape (12,)" in text and "`embedding`" in text and "[1, 12]" in text


SEQUENCE_CONFIGS = ["adding-rnn", "adding-lstm", "adding-gru", "frequencies-conv1d", "frequencies-gru",
                    "bumps-conv1d", "bumps-gru"]  # fmt: skip


@pytest.mark.parametrize("name", SEQUENCE_CONFIGS)
def test_each_shipped_sequence_config_validates(name):
    from tests.cli.conftest import CONFIGS

    result = backprop("config", "validate", str(CONFIGS / f"{name}.yaml"))
    assert result.returncode == 0, err(result)
    assert "valid" in err(result)  # a verdict for people: stderr
