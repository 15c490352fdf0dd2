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

from .helpers import backprop, eval_json, ok

torch = pytest.importorskip("torch")  # the bench extra's PyTorch
from safetensors.torch import save_file  # noqa: E402
from torch import nn  # noqa: E402

MLP = """\
    - {type: dense, units: 32}
    - {type: batchnorm}
    - {type: relu}
    - {type: dense, units: 24, activation: tanh}
    - {type: dense, units: 10}
"""
CNN = """\
    - {type: conv2d, filters: 8, kernel_size: 3, padding: 1}
    - {type: batchnorm}
    - {type: relu}
    - {type: maxpool2d}
    - {type: conv2d, filters: 16, kernel_size: 3, padding: same, activation: relu}
    - {type: maxpool2d}
    - {type: flatten}
    - {type: dense, units: 10}
"""


def torch_mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 24), nn.Tanh(),
                         nn.Linear(24, 10))  # fmt: skip


def torch_cnn():
    block1 = [nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2)]
    block2 = [nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(*block1, *block2, nn.Flatten(), nn.Linear(64, 10))


# (our tensor, PyTorch's tensor, transposed): the pairs the README documents
MLP_PAIRS = [("0.W", "1.weight", True), ("0.b", "1.bias", False), ("1.gamma", "2.weight", False),
             ("1.beta", "2.bias", False), ("3.W", "4.weight", True), ("3.b", "4.bias", False),
             ("4.W", "6.weight", True), ("4.b", "6.bias", False)]  # fmt: skip
CNN_PAIRS = [("0.W", "0.weight", False), ("0.b", "0.bias", False), ("1.gamma", "1.weight", False),
             ("1.beta", "1.bias", False), ("4.W", "4.weight", False), ("4.b", "4.bias", False),
             ("7.W", "8.weight", True), ("7.b", "8.bias", False)]  # fmt: skip


def write_config(tmp, data_path, layers: str, units: int | None = None):
    path = tmp / "net.yaml"
    text = f"seed: 3\ndata: {{path: {data_path}, validation_split: 0.2}}\nmodel:\n  layers:\n{layers}"
    path.write_text(text if units is None else text.replace("units: 32", f"units: {units}"))
    return path


def train_torch(net, data, epochs: int = 2):
    """A couple of epochs of Adam on our scaled training split, then the test accuracy in eval mode."""
    torch.manual_seed(0)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(epochs):
        for i in range(0, len(x), 64):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[i : i + 64]), y[i : i + 64]).backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        predicted = net(torch.from_numpy(data.x_test)).argmax(dim=1).numpy()
    return float(np.mean(predicted == data.y_test))


@pytest.fixture(scope="module", params=["mlp", "cnn"])
def imported(request, digits, tmp_path_factory):
    """(config, torch net, data, its test accuracy, the imported run, pairs) for each network."""
    torch.set_num_threads(1)
    torch.manual_seed(0)  # the initial weights too: the same nets every time
    tmp = tmp_path_factory.mktemp(request.param)
    layers, net, pairs = (MLP, torch_mlp(), MLP_PAIRS) if request.param == "mlp" else (CNN, torch_cnn(), CNN_PAIRS)
    config = write_config(tmp, digits[1], layers)
    data = build_parts(load_config(config).config).data  # the split and scaling `train` would use
    accuracy = train_torch(net, data)
    save_file(net.state_dict(), tmp / "weights.safetensors")
    run = ok(backprop("import-weights", config, tmp / "weights.safetensors", "-o", tmp / "run"))
    return config, net, data, accuracy, tmp / "run", pairs, run


def test_import_weights_prints_the_run_it_created(imported):
    *_, run_dir, _, printed = imported
    assert printed == str(run_dir)
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "imported"


def test_eval_of_the_imported_run_gives_pytorchs_test_accuracy(imported):
    _, _, data, accuracy, run, _, _ = imported
    result = eval_json(run)
    assert result["split"] == "test" and result["n"] == len(data.y_test)
    assert result["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert accuracy > 0.7  # the nets learned: an identity mapping of random weights would not pass unnoticed


def test_one_training_step_from_the_same_weights_gives_pytorchs_gradients(imported):
    _, net, data, _, run, pairs, _ = imported
    x, y = data.x_train[:64], data.y_train[:64]
    trained = load_trained(run)  # our backward, on our model of the imported checkpoint
    model, loss = trained.model, trained.loss
    loss_value = loss.forward(model.forward(x, training=True), y)
    model.backward(loss.backward())
    ours = {name: g for name, _, g in model.named_params()}
    net.train()  # batch statistics in batchnorm, as ours in training
    net.zero_grad()
    torch_loss = nn.functional.cross_entropy(net(torch.from_numpy(x)), torch.from_numpy(y))
    torch_loss.backward()
    theirs = dict(net.named_parameters())
    assert loss_value == pytest.approx(torch_loss.item(), rel=1e-5)
    assert {name for name, _, _ in pairs} == set(ours)  # every gradient of ours is compared
    # float32: relative to each tensor's largest gradient, and to the net's for a bias whose gradient is
    # zero in exact arithmetic (a conv bias before batchnorm: the normalization removes it)
    overall = max(float(p.grad.abs().max()) for p in theirs.values())
    for name, torch_name, transposed in pairs:
        g = theirs[torch_name].grad.numpy()
        g = g.T if transposed else g
        assert np.abs(ours[name] - g).max() <= 1e-4 * float(np.abs(g).max()) + 1e-6 * overall, (name, torch_name)


def test_a_shape_mismatch_names_the_tensor_and_both_shapes(digits, tmp_path):
    config = write_config(tmp_path, digits[1], MLP, units=16)
    save_file(torch_mlp().state_dict(), tmp_path / "w.safetensors")
    result = backprop("import-weights", config, tmp_path / "w.safetensors", "-o", tmp_path / "run")
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
    torch.save(torch_mlp().state_dict(), tmp_path / "real.bin")
    result = backprop("import-weights", write_config(tmp_path, digits[1], MLP), tmp_path / "real.bin")
    assert result.returncode == 2 and "pickled PyTorch file" in result.stderr.decode()


def test_a_different_number_of_layers_lists_both_sides(digits, tmp_path):
    save_file(torch_mlp().state_dict(), tmp_path / "w.safetensors")
    fewer = MLP.replace("    - {type: dense, units: 24, activation: tanh}\n", "")
    result = backprop("import-weights", write_config(tmp_path, digits[1], fewer), tmp_path / "w.safetensors")
    assert result.returncode == 2
    assert (
        "the weights file has 4 modules with tensors, the config's model 3 layers with tensors; "
        "PyTorch modules: 1, 2, 4, 6; our layers: model.0 (dense), model.1 (batchnorm), model.3 (dense)"
    ) in result.stderr.decode()
