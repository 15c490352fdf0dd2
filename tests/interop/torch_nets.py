"""The two PyTorch nets of the import-weights tests and our configs of them, shared by those tests and by
tests/fixtures/make_torch_fixtures.py, which trains the nets and records PyTorch's numbers. Only the
functions that build or train a net import torch: the tests read the recorded fixtures without it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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

# (our tensor, PyTorch's tensor, transposed): the pairs the README documents
MLP_PAIRS = [("0.W", "1.weight", True), ("0.b", "1.bias", False), ("1.gamma", "2.weight", False),
             ("1.beta", "2.bias", False), ("3.W", "4.weight", True), ("3.b", "4.bias", False),
             ("4.W", "6.weight", True), ("4.b", "6.bias", False)]  # fmt: skip
CNN_PAIRS = [("0.W", "0.weight", False), ("0.b", "0.bias", False), ("1.gamma", "1.weight", False),
             ("1.beta", "1.bias", False), ("4.W", "4.weight", False), ("4.b", "4.bias", False),
             ("7.W", "8.weight", True), ("7.b", "8.bias", False)]  # fmt: skip


def write_config(tmp: Path, data_path, layers: str, units: int | None = None) -> Path:
    path = tmp / "net.yaml"
    text = f"seed: 3\ndata: {{path: {data_path}, validation_split: 0.2}}\nmodel:\n  layers:\n{layers}"
    path.write_text(text if units is None else text.replace("units: 32", f"units: {units}"))
    return path


def torch_mlp():
    from torch import nn

    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 24), nn.Tanh(),
                         nn.Linear(24, 10))  # fmt: skip


def torch_cnn():
    from torch import nn

    block1 = [nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2)]
    block2 = [nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(*block1, *block2, nn.Flatten(), nn.Linear(64, 10))


def train_torch(torch, net, data, epochs: int = 2) -> float:
    """A couple of epochs of Adam on our scaled training split, then the test accuracy in eval mode."""
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(epochs):
        for i in range(0, len(x), 64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x[i : i + 64]), y[i : i + 64]).backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        predicted = net(torch.from_numpy(data.x_test)).argmax(dim=1).numpy()
    return float(np.mean(predicted == data.y_test))
