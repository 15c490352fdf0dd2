"""Convolutional networks end to end: sizes from specs, shape mistakes as config errors, learning, the CLI."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from backprop_cli.config.load import load_config
from backprop_cli.data import load_data
from backprop_cli.data.batching import BatchLoader
from backprop_cli.errors import ConfigError
from backprop_cli.nn.losses import build_loss
from backprop_cli.nn.model import build_model, estimate_param_count
from backprop_cli.optim.registry import build_optimizer

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
CONV = {"type": "conv2d", "filters": 4, "kernel_size": 3}


@pytest.mark.parametrize(
    "layer_specs, input_shape",
    [
        ([CONV, {"type": "maxpool2d"}, {"type": "flatten"}, {"type": "dense", "units": 3}], (2, 9, 9)),
        (
            [
                {**CONV, "stride": 2, "padding": "same", "use_bias": False},
                {"type": "avgpool2d"},
                {"type": "batchnorm"},
                {"type": "dense", "units": 5},
            ],
            (3, 11, 10),
        ),
        ([{"type": "residual", "layers": [{**CONV, "padding": 1}]}, {"type": "flatten"}], (4, 6, 6)),
    ],
)
def test_the_parameter_estimate_of_a_cnn_equals_what_build_allocates(layer_specs, input_shape, rng):
    model = build_model(layer_specs, input_shape, rng, np.float32)
    assert estimate_param_count(layer_specs, input_shape) == model.param_count


def test_the_example_mnist_cnn_has_the_parameters_worked_out_by_hand():
    config = load_config(CONFIGS / "mnist-cnn.yaml").config
    # conv 1->32 5x5: 32*25 + 32; conv 32->64 5x5: 64*32*25 + 64; dense (64*7*7) -> 128: 3136*128 + 128;
    # dense 128 -> 10: 128*10 + 10
    assert estimate_param_count(config.model.layers, (1, 28, 28)) == 832 + 51264 + 401536 + 1290


@pytest.mark.parametrize(
    "layer_specs, where, message",
    [
        ([{"type": "flatten"}, CONV], "model.layers.1", "needs images of shape (C, H, W)"),
        ([CONV, {"type": "maxpool2d", "pool_size": 7}], "model.layers.1", "window of 7 pixels does not fit"),
        ([{**CONV, "kernel_size": 9}], "model.layers.0", "window of 9 pixels does not fit an input of 8"),
    ],
)
def test_an_image_layer_that_does_not_fit_its_input_is_a_config_error_naming_the_layer(layer_specs, where, message):
    with pytest.raises(ConfigError) as info:
        estimate_param_count(layer_specs, (1, 8, 8))
    assert info.value.where == where and message in info.value.what and info.value.fix


def _one_blas_thread():
    """Tiny matmuls only wait on BLAS threads, badly so on a busy machine; threadpoolctl (bench extra) caps them."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def test_a_small_cnn_learns_the_digits_in_a_few_epochs():
    config = load_config(CONFIGS / "digits-cnn.yaml").config
    data = load_data(config.data, config.seed, np.float32)
    assert data.input_shape == (1, 8, 8)
    model = build_model(config.model.layers, data.input_shape, np.random.default_rng(0), "float32")
    loss, optimizer = build_loss("cross_entropy"), build_optimizer({"type": "adam", "lr": 0.01})
    loader, shuffle = BatchLoader(data.x_train, data.y_train, 128), np.random.default_rng(1)
    with _one_blas_thread():
        for _ in range(3):  # 36 steps
            for xb, yb in loader.batches(loader.permutation(shuffle)):
                loss.forward(model.forward(xb, training=True), yb)
                model.backward(loss.backward())
                optimizer.step([model.flat_params], [model.flat_grads], 0.01)
        logits = model.forward(data.x_train, training=False)
    assert np.mean(np.argmax(logits, axis=1) == data.y_train) > 0.9  # its speed is the bench's business


def test_backprop_trains_the_digits_cnn_config_and_saves_conv_weights_in_the_documented_layout(tmp_path):
    # --threads 1: as in _one_blas_thread
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "backprop_cli", "train", str(CONFIGS / "digits-cnn.yaml"),
         "--set", "training.epochs=2", "--quiet", "--json", "--runs-dir", str(tmp_path), "--threads", "1"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "completed"
    (run,) = tmp_path.iterdir()
    tensors = load_file(run / "checkpoints" / "last.safetensors")
    assert tensors["model.0.W"].shape == (16, 1, 3, 3) and tensors["model.0.b"].shape == (16,)
    assert tensors["model.2.W"].shape == (32, 16, 3, 3)


@pytest.mark.parametrize("name", ["digits-cnn.yaml", "mnist-cnn.yaml"])
def test_the_example_cnn_configs_validate(name):
    config = load_config(CONFIGS / name).config
    assert [layer.type for layer in config.model.layers][:2] == ["conv2d", "maxpool2d"]
