"""`backprop import-weights`: PyTorch nets trained briefly -> safetensors -> a run that scores as PyTorch
scored, and whose backward gives PyTorch autograd's gradients from the same weights and batch."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from backprop_cli.config.load import load_config
from backprop_cli.errors import UserError
from backprop_cli.inference import load_trained
from backprop_cli.interop.import_run import read_weights
from backprop_cli.train.setup import build_parts
from tests.torch_recorded import FIXTURES, case, recorded

from .helpers import backprop, eval_json, ok
from .torch_nets import CNN, CNN_PAIRS, MLP, MLP_PAIRS, write_config

# PyTorch's side, recorded by tests/fixtures/make_torch_fixtures.py: each net trained two epochs with Adam on
# our split and scaling of the digits (<net>.safetensors), its test accuracy, and its loss and gradients on
# the first 64 training rows in training mode (digits_nets.npz). No PyTorch needed to run these tests.
MLP_WEIGHTS = FIXTURES / "mlp.safetensors"
ZERO_IN_EXACT_ARITHMETIC = {("0.b", "0.bias")}  # the CNN's conv bias, right before its batchnorm


@pytest.fixture(scope="module", params=["mlp", "cnn"])
def imported(request, digits, tmp_path_factory):
    """(config, PyTorch's recorded numbers, data, the imported run, pairs, printed) for each network."""
    tmp = tmp_path_factory.mktemp(request.param)
    layers, pairs = (MLP, MLP_PAIRS) if request.param == "mlp" else (CNN, CNN_PAIRS)
    config = write_config(tmp, digits[1], layers)
    data = build_parts(load_config(config).config).data  # the split and scaling `train` would use
    numbers = case(recorded("digits_nets"), request.param)
    run = ok(backprop("import-weights", config, FIXTURES / f"{request.param}.safetensors", "-o", tmp / "run"))
    return config, numbers, data, tmp / "run", pairs, run


def test_import_weights_prints_the_run_it_created(imported):
    *_, run_dir, _, printed = imported
    assert printed == str(run_dir)
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "imported"


def test_eval_of_the_imported_run_gives_pytorchs_test_accuracy(imported):
    _, numbers, data, run, _, _ = imported
    accuracy = float(numbers["accuracy"])
    result = eval_json(run)
    assert result["split"] == "test" and result["n"] == len(data.y_test)
    assert result["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert accuracy > 0.7  # the nets learned: an identity mapping of random weights would not pass unnoticed


def test_one_training_step_from_the_same_weights_gives_pytorchs_gradients(imported):
    _, numbers, data, run, pairs, _ = imported
    x, y = data.x_train[:64], data.y_train[:64]
    trained = load_trained(run)  # our backward, on our model of the imported checkpoint
    model, loss = trained.model, trained.loss
    loss_value = loss.forward(model.forward(x, training=True), y)
    model.backward(loss.backward())
    ours = {name: g for name, _, g in model.named_params()}
    theirs = case(numbers, "grad")  # PyTorch in training mode: batch statistics in batchnorm, as ours
    assert loss_value == pytest.approx(float(numbers["loss"]), rel=1e-5)
    assert {name for name, _, _ in pairs} == set(ours)  # every gradient of ours is compared
    # float32: relative to each tensor's largest gradient. A bias whose gradient is zero in exact arithmetic
    # (the conv bias before batchnorm: the normalization removes it) is rounding noise on both sides, as large
    # as 1e-6 of the net's largest gradient in PyTorch's recorded numbers: each side is held to 1e-5 of it
    overall = max(float(np.abs(g).max()) for g in theirs.values())
    for name, torch_name, transposed in pairs:
        g = theirs[torch_name]
        g = g.T if transposed else g
        if (name, torch_name) in ZERO_IN_EXACT_ARITHMETIC:
            assert max(np.abs(ours[name]).max(), np.abs(g).max()) <= 1e-5 * overall, (name, torch_name)
            continue
        assert np.abs(ours[name] - g).max() <= 1e-4 * float(np.abs(g).max()) + 1e-6 * overall, (name, torch_name)


def test_a_shape_mismatch_names_the_tensor_and_both_shapes(digits, tmp_path):
    config = write_config(tmp_path, digits[1], MLP, units=16)
    result = backprop("import-weights", config, MLP_WEIGHTS, "-o", tmp_path / "run")
    assert result.returncode == 2, result.stderr
    assert "tensor '1.weight' has shape (32, 64) but layer model.0 (dense) needs (16, 64)" in result.stderr.decode()
    assert not (tmp_path / "run").exists()


class Payload:
    """Unpickling this creates a file: the proof that a loader executed the pickle."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickled_pt_file_is_refused_unopened_with_the_two_line_conversion(digits, tmp_path):
    marker = tmp_path / "unpickled"
    (tmp_path / "model.pt").write_bytes(pickle.dumps(Payload(marker)))
    result = backprop("import-weights", write_config(tmp_path, digits[1], MLP), tmp_path / "model.pt")
    stderr = result.stderr.decode()
    assert result.returncode == 2 and "Traceback" not in stderr
    assert "model.pt: is a pickled PyTorch file; backprop never unpickles files" in stderr
    assert "import torch; from safetensors.torch import save_file" in stderr
    assert 'torch.load("model.pt", weights_only=True)' in stderr
    assert not marker.exists()


@pytest.mark.parametrize("name", ["model.pth", "disguised.safetensors", "no-suffix"])
def test_pickles_under_any_name_are_refused_before_any_loading(name, tmp_path):
    marker = tmp_path / "unpickled"
    (tmp_path / name).write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(UserError, match="is a pickled PyTorch file"):
        read_weights(tmp_path / name)
    assert not marker.exists()


def test_a_torch_save_file_is_refused_too(digits, tmp_path):
    real = FIXTURES / "torch_save_state_dict.bin"  # torch.save of a state dict: a zip holding a pickle
    result = backprop("import-weights", write_config(tmp_path, digits[1], MLP), real)
    assert result.returncode == 2 and "pickled PyTorch file" in result.stderr.decode()


def test_a_different_number_of_layers_lists_both_sides(digits, tmp_path):
    fewer = MLP.replace("    - {type: dense, units: 24, activation: tanh}\n", "")
    result = backprop("import-weights", write_config(tmp_path, digits[1], fewer), MLP_WEIGHTS)
    assert result.returncode == 2
    assert (
        "the weights file has 4 modules with tensors, the config's model 3 layers with tensors; "
        "PyTorch modules: 1, 2, 4, 6; our layers: model.0 (dense), model.1 (batchnorm), model.3 (dense)"
    ) in result.stderr.decode()
