"""End to end: small networks learn XOR and two spirals with a few lines of inline Adam."""

from __future__ import annotations

import math

import numpy as np

from backprop_cli.nn.losses import build_loss
from backprop_cli.nn.model import build_model


def _train_adam(model, loss, x, y, steps, lr):
    """Full-batch Adam over the model's one flat buffer (the optim package is tested on its own)."""
    w, g = model.flat_params, model.flat_grads
    m, v = np.zeros_like(w), np.zeros_like(w)
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        loss.forward(model.forward(x, training=True), y)
        model.backward(loss.backward())
        m += (1 - b1) * (g - m)
        v += (1 - b2) * (g * g - v)
        w -= (lr * math.sqrt(1 - b2**t) / (1 - b1**t)) * m / (np.sqrt(v) + eps)


def _accuracy(model, x, y):
    return float(np.mean(np.argmax(model.forward(x, training=False), axis=1) == y))


def test_an_mlp_learns_xor_exactly(rng):
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0])
    model = build_model(
        [{"type": "dense", "units": 8, "activation": "tanh"}, {"type": "dense", "units": 2}], (2,), rng, "float32"
    )
    _train_adam(model, build_loss("cross_entropy"), x, y, steps=300, lr=0.05)
    assert _accuracy(model, x, y) == 1.0


def test_plain_sgd_on_the_flat_buffer_also_learns_xor(rng):
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([0, 1, 1, 0])
    model = build_model(
        [{"type": "dense", "units": 8, "activation": "tanh"}, {"type": "dense", "units": 2}], (2,), rng, "float64"
    )
    loss = build_loss("cross_entropy")
    for _ in range(2000):
        loss.forward(model.forward(x, training=True), y)
        model.backward(loss.backward())
        model.flat_params -= 0.5 * model.flat_grads  # one pass over one array
    assert _accuracy(model, x, y) == 1.0


def _two_spirals(n_per_class, rng):
    t = np.sqrt(rng.uniform(0, 1, n_per_class)) * 3 * np.pi  # denser near the centre, like the classic set
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * np.pi)
    x = np.concatenate([arm, -arm]) + rng.normal(0, 0.02, (2 * n_per_class, 2))
    return x.astype(np.float32), np.repeat([0, 1], n_per_class)


def test_an_mlp_separates_two_spirals(rng):
    x, y = _two_spirals(200, rng)
    layers = [
        {"type": "dense", "units": 64, "activation": "relu"},
        {"type": "dense", "units": 64, "activation": "relu"},
        {"type": "dense", "units": 2},
    ]
    model = build_model(layers, (2,), rng, "float32")
    _train_adam(model, build_loss("cross_entropy"), x, y, steps=600, lr=0.01)
    assert _accuracy(model, x, y) > 0.95
