"""import-weights without PyTorch: a run's own weights, written as a PyTorch state dict would be, come back
as a run that scores exactly as the original, and that `train --resume` fine-tunes from those weights."""

from __future__ import annotations

import json

import numpy as np
from safetensors.numpy import save_file

from backprop_cli.inference import evaluate_split, load_trained
from backprop_cli.interop.torch_map import ROLES, TRANSPOSED, our_layers
from backprop_cli.nn.registry import layer_name

from .helpers import backprop, ok


def as_torch_state_dict(run) -> dict[str, np.ndarray]:
    """The run's tensors under nn.Sequential-style names ("0.weight", ...), in PyTorch's layouts."""
    tensors = {}
    for i, (_, layer) in enumerate(our_layers(load_trained(run).model)):
        kind = layer_name(layer)
        own = {**layer.params, **layer.state}
        for role, key in ROLES[kind].items():
            if key in own:
                tensors[f"{i}.{role}"] = own[key].T.copy() if (kind, key) in TRANSPOSED else own[key]
        if kind == "batchnorm":
            tensors[f"{i}.num_batches_tracked"] = np.array(7, dtype=np.int64)  # PyTorch saves it; ignored
    return tensors


def test_a_runs_weights_in_pytorch_layout_import_to_the_same_scores(digits_runs, tmp_path):
    for name, run in digits_runs.items():  # the MLP has residual blocks, one with a projection
        save_file(as_torch_state_dict(run), tmp_path / f"{name}.safetensors")
        imported = tmp_path / f"{name}-imported"
        ok(backprop("import-weights", run / "config.yaml", tmp_path / f"{name}.safetensors", "-o", imported))
        original, again = (evaluate_split(load_trained(r)) for r in (run, imported))  # what `eval --json` prints
        for key in ("split", "n", "loss", "accuracy", "confusion_matrix"):
            assert again[key] == original[key], (name, key)
        summary = json.loads((imported / "summary.json").read_text())
        assert summary["status"] == "imported" and summary["test"]["accuracy"] == original["accuracy"]


def test_train_resume_fine_tunes_an_imported_run_from_its_weights(digits_runs, tmp_path):
    run = digits_runs["mlp"]
    save_file(as_torch_state_dict(run), tmp_path / "w.safetensors")
    imported = tmp_path / "imported"
    ok(backprop("import-weights", run / "config.yaml", tmp_path / "w.safetensors", "-o", imported))
    assert json.loads((imported / "summary.json").read_text())["epochs_run"] == 0
    ok(backprop("train", "--resume", imported, "--quiet"))
    fresh = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    tuned = [json.loads(line) for line in (imported / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in tuned] == [1, 2, 3]
    assert tuned[0]["train_loss"] < 0.8 * fresh[0]["train_loss"]  # it started from the trained weights
