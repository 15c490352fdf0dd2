"""An MNIST CNN, trained one epoch on a slice of the real files, exported and run by onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ci_guard import in_ci
from tests.interop.helpers import needs_onnx

pytestmark = needs_onnx()  # onnx and onnxruntime (~1.3 s to import) are imported by the tests that run

from backprop_cli.data.idx import read_idx  # noqa: E402
from backprop_cli.data.mnist import find_file  # noqa: E402

from .helpers import backprop, ok, predict_npy, train_run  # noqa: E402

CONFIG = """
seed: 0
data: {{path: {data}, validation_split: 0.1}}
model:
  layers:
    - {{type: conv2d, filters: 8, kernel_size: 3, activation: relu}}
    - {{type: maxpool2d, pool_size: 2}}
    - {{type: conv2d, filters: 16, kernel_size: 3, activation: relu}}
    - {{type: maxpool2d, pool_size: 2}}
    - {{type: flatten}}
    - {{type: dense, units: 10}}
optimizer: {{type: adam, lr: 0.003}}
training: {{epochs: 1, batch_size: 64}}
"""


FILES = (("train-images-idx3-ubyte", 3), ("train-labels-idx1-ubyte", 1), ("t10k-images-idx3-ubyte", 3),
         ("t10k-labels-idx1-ubyte", 1))  # fmt: skip


def mnist_slice(n_train: int, n_test: int) -> dict:
    """The first images of the real IDX files; without them a skip (a failure on CI, where they belong)."""
    from tests.datafiles import require_full_mnist

    directory = require_full_mnist() / "mnist"  # 3000 training images: more than the shipped slice
    paths = {name: find_file(directory, name + ".gz") for name, _ in FILES}
    if None in paths.values():
        missing = [name for name, path in paths.items() if path is None]
        if in_ci():
            pytest.fail(f"the MNIST IDX files {missing} are not in {directory}")
        pytest.skip(f"the MNIST IDX files {missing} are not in {directory} (CI has them there)")
    read = {name: read_idx(paths[name], ndim) for name, ndim in FILES}
    return {
        "x_train": read["train-images-idx3-ubyte"][:n_train],
        "y_train": read["train-labels-idx1-ubyte"][:n_train],
        "x_test": read["t10k-images-idx3-ubyte"][:n_test],
        "y_test": read["t10k-labels-idx1-ubyte"][:n_test],
    }


def test_an_mnist_cnn_exports_and_predicts_like_backprop_predict_on_the_test_images(tmp_path):
    import onnx
    import onnxruntime as ort

    arrays = mnist_slice(3000, 500)
    np.savez(tmp_path / "mnist.npz", **arrays)  # uint8 pixels 0..255, as in the IDX files
    run = train_run(tmp_path, "mnist-cnn", CONFIG.format(data=tmp_path / "mnist.npz"))
    model = onnx.load(ok(backprop("export", run, "--proba")))
    onnx.checker.check_model(model, full_check=True)
    x = arrays["x_test"][:, None].astype(np.float32)  # (N, 1, 28, 28) raw pixels
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    proba = session.run(None, {"input": x})[0]
    np.testing.assert_allclose(proba, predict_npy(run, x, tmp_path, "--proba"), atol=2e-5)
    assert np.mean(proba.argmax(axis=1) == arrays["y_test"]) > 0.8  # one epoch on 3000 images
