"""Dense with `per_step: true`: the same weights at every step of a sequence (a transformer's MLP, its output).

x (N, C, L) -> y (N, units, L). The L steps of the N examples are N*L rows of one matmul, so W is
shared across steps and its gradient sums over them: dW = Σ_{n,t} x[n, :, t]ᵀ dz[n, :, t]. The
activation acts on each row (softmax over a step's units, not over the steps). The functions take
the Dense layer, whose W, b, activation and init they use: one layer type, one checkpoint layout.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.nn.initializers import initialize
from backprop_cli.nn.steps import sequence_shape, steps_first


def build(layer, input_shape, rng, dtype) -> tuple[int, int]:
    fan_in, steps = sequence_shape(input_shape, "dense with per_step: true")
    layer._steps = steps
    layer.params = {"W": initialize(layer.init, (fan_in, layer.units), rng, dtype, layer.init_scale)}
    if layer.use_bias:
        layer.params["b"] = np.zeros(layer.units, dtype=dtype)
    layer.grads = {k: np.zeros_like(p) for k, p in layer.params.items()}
    return (layer.units, steps)


def forward(layer, x: np.ndarray, training: bool) -> np.ndarray:
    n, c, steps = x.shape
    rows = steps_first(x).reshape(n * steps, c)  # (N L, C): a copy unless x came as an (N, C, L) view
    layer._x = rows  # dW needs the input
    z = rows @ layer.params["W"]  # (N L, C) @ (C, units)
    if layer.use_bias:
        z += layer.params["b"]
    if layer.act is not None:
        z = layer.act.forward(z, training)
    return z.reshape(n, steps, layer.units).transpose(0, 2, 1)  # the (N, units, L) view


def backward(layer, dy: np.ndarray) -> np.ndarray | None:
    n, units, steps = dy.shape
    dz = steps_first(dy).reshape(n * steps, units)  # (N L, units)
    if layer.act is not None:
        dz = layer.act.backward(dz)
    np.matmul(layer._x.T, dz, out=layer.grads["W"])  # (C, N L) @ (N L, units): summed over steps
    if layer.use_bias:
        np.sum(dz, axis=0, out=layer.grads["b"])
    if not layer.input_grad:
        return None
    dx = dz @ layer.params["W"].T  # (N L, units) @ (units, C)
    return dx.reshape(n, steps, -1).transpose(0, 2, 1)  # (N, C, L) view
