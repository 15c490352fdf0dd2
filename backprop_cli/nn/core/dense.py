"""The fully connected layer, with an optional built-in activation."""

from __future__ import annotations

import math

import numpy as np

from backprop_cli.nn.core import per_step
from backprop_cli.nn.core.weighted import WeightLayer
from backprop_cli.nn.initializers import check_given, given_values, initialize


class Dense(WeightLayer):
    """y = act(x @ W + b);  x: (N, fan_in) -> y: (N, units). Inputs of shape (N, *dims) are flattened.

    per_step: the same W and b at every step of a sequence, x (N, C, L) -> y (N, units, L) (nn/per_step.py).
    """

    def __init__(
        self,
        units: int,
        activation: str | None = None,
        init: str | None = None,
        init_scale: float = 0.05,
        use_bias: bool = True,
        bias_init=None,
        per_step: bool = False,
    ):
        self.given = (init, bias_init)  # `init: {values: [[...]]}`, `bias_init: {values: [...]}`: a textbook's numbers
        super().__init__(activation, None if given_values(init) is not None else init, init_scale, use_bias)
        self.units = int(units)
        self.per_step = per_step

    def build(self, input_shape, rng, dtype):
        if self.per_step:
            return per_step.build(self, input_shape, rng, dtype)
        fan_in = math.prod(input_shape)
        self._flatten = len(input_shape) != 1  # images (C, H, W) are flattened implicitly
        check_given(*self.given, fan_in, self.units, self.use_bias)
        W, b = (given_values(v) for v in self.given)
        W = initialize(self.init, (fan_in, self.units), rng, dtype, self.init_scale) if W is None else W
        self.params = {"W": np.array(W, dtype=dtype)}
        if self.use_bias:
            self.params["b"] = np.zeros(self.units, dtype=dtype) if b is None else np.array(b, dtype=dtype)
        self.grads = {k: np.zeros_like(p) for k, p in self.params.items()}
        return (self.units,)

    def forward(self, x, training):
        if self.per_step:
            return per_step.forward(self, x, training)
        self._x_shape = x.shape
        if self._flatten:
            x = x.reshape(x.shape[0], -1)
        self._x = x  # dW needs the input
        z = x @ self.params["W"]  # (N, fan_in) @ (fan_in, units)
        if self.use_bias:
            z += self.params["b"]  # in place: z is ours
        return z if self.act is None else self.act.forward(z, training)

    def backward(self, dy):
        if self.per_step:
            return per_step.backward(self, dy)
        dz = dy if self.act is None else self.act.backward(dy)  # (N, units)
        np.matmul(self._x.T, dz, out=self.grads["W"])  # (fan_in, N) @ (N, units)
        if self.use_bias:
            np.sum(dz, axis=0, out=self.grads["b"])
        if not self.input_grad:
            return None  # saves the largest matmul of an MLP on wide inputs such as images
        dx = dz @ self.params["W"].T  # (N, units) @ (units, fan_in)
        return dx.reshape(self._x_shape) if self._flatten else dx

    def explain(self) -> dict[str, list[str]]:
        linear = "{z} = x·W + b" if self.use_bias else "{z} = x·W"
        grads = ["dW = xᵀ·{dz}", *(["db = Σₙ {dz}"] if self.use_bias else []), "dx = {dz}·Wᵀ"]
        text = self.chain_text(linear, grads)
        if getattr(self, "_flatten", False):  # set by build() for image inputs
            text["forward"].insert(0, "x = x.reshape(N, −1)   (flattened)")
        return text

    def flops(self, batch: int) -> tuple[int, int]:
        fan_in, units = self.params["W"].shape
        batch *= getattr(self, "_steps", 1) if self.per_step else 1  # per_step: N·L rows through one W
        matmul, bias = 2 * batch * fan_in * units, batch * units * self.use_bias  # a multiply-add counts 2
        act_f, act_b = self.act_flops(batch, (units,))
        return matmul + bias + act_f, act_b + matmul + bias + matmul * self.input_grad  # dW, db, dx
