"""BatchNorm's numbers against its formula, worked out independently (the gradient checks cannot see these:
a consistent forward and backward with the wrong eps sign, or beta subtracted at inference, pass them).

Found by mutation testing (README, "Development"): these mutants survived every test before.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.nn.normalization.batchnorm import BatchNorm


def built(eps=0.5, momentum=0.8):
    layer = BatchNorm(momentum=momentum, eps=eps)  # a large eps, so that its sign and place show
    layer.build((3,), np.random.default_rng(0), np.float64)
    layer.params["gamma"][:] = [1.0, 2.0, -1.0]
    layer.params["beta"][:] = [0.5, -1.0, 3.0]
    return layer


X = np.array([[1.0, 2.0, 0.0], [3.0, -2.0, 1.0], [2.0, 0.0, 5.0], [6.0, 4.0, -2.0]])


def test_training_normalizes_with_the_biased_batch_variance_plus_eps():
    layer = built()
    y = layer.forward(X, training=True)
    mean, var = X.mean(axis=0), X.var(axis=0)  # biased: / N, as PyTorch normalizes
    expected = (X - mean) / np.sqrt(var + 0.5) * layer.params["gamma"] + layer.params["beta"]
    np.testing.assert_allclose(y, expected, rtol=1e-12)


def test_the_running_statistics_move_towards_the_batch_with_the_unbiased_variance():
    layer = built(momentum=0.8)
    layer.forward(X, training=True)
    n = len(X)
    np.testing.assert_allclose(layer.state["running_mean"], 0.8 * 0.0 + 0.2 * X.mean(axis=0), rtol=1e-12)
    unbiased = X.var(axis=0) * n / (n - 1)
    np.testing.assert_allclose(layer.state["running_var"], 0.8 * 1.0 + 0.2 * unbiased, rtol=1e-12)


def test_inference_uses_the_running_statistics_then_gamma_and_beta():
    layer = built()
    layer.state["running_mean"][:] = [1.0, -1.0, 2.0]
    layer.state["running_var"][:] = [4.0, 0.5, 1.5]
    y = layer.forward(X, training=False)
    expected = (X - [1.0, -1.0, 2.0]) / np.sqrt(np.array([4.0, 0.5, 1.5]) + 0.5) * [1.0, 2.0, -1.0] + [0.5, -1.0, 3.0]
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    assert np.array_equal(layer.state["running_mean"], [1.0, -1.0, 2.0])  # inference never updates them
