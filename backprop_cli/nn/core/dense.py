"""The fully connected layer, with an optional built-in activation; and its per-step form for sequences."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

import numpy as np
from pydantic import Field, ValidationError, field_validator

from backprop_cli.config.spec import Spec
from backprop_cli.nn.core.activations import ActivationName
from backprop_cli.nn.core.weighted import WeightLayer
from backprop_cli.nn.initializers import InitName, check_given, given_values, initialize
from backprop_cli.nn.steps import sequence_shape, steps_first

MAX_UNITS = 1_000_000
MAX_GIVEN_VALUES = 100_000  # initial values written out in a config are for small, textbook layers


class WeightValues(Spec):
    """`init: {values: [[...], ...]}`: W written out, one row per input (W has shape (inputs, units))."""

    values: list[list[float]] = Field(min_length=1, max_length=MAX_GIVEN_VALUES)

    @field_validator("values")
    @classmethod
    def _a_matrix(cls, rows):
        if len({len(row) for row in rows}) != 1 or sum(map(len, rows)) > MAX_GIVEN_VALUES:
            raise ValueError(f"must be rows of equal length, at most {MAX_GIVEN_VALUES} numbers in all")
        return rows


class BiasValues(Spec):
    """`bias_init: {values: [...]}`: b written out, one number per unit."""

    values: list[float] = Field(min_length=1, max_length=MAX_GIVEN_VALUES)


class DenseSpec(Spec):
    type: Literal["dense"]
    units: int = Field(gt=0, le=MAX_UNITS)
    activation: ActivationName | None = None
    init: InitName | WeightValues | None = None  # None: he_normal after the relu family, xavier_uniform otherwise
    init_scale: float = Field(0.05, ge=0, le=1e3)  # std of `normal`, limit of `uniform`, value of `constant`
    use_bias: bool = True
    bias_init: BiasValues | None = None  # None: zeros
    per_step: bool = False  # sequences (C, L) -> (units, L): the same W at every step

    @field_validator("init", mode="before")
    @classmethod
    def _values_in_one_message(cls, value):
        """A mapping is {values: ...}: validated here, so that a mistake reads as one message, not one per
        member of the union (a name or values)."""
        if not isinstance(value, Mapping):
            return value
        from backprop_cli.config.validation import to_config_error

        try:
            return WeightValues.model_validate(value)
        except ValidationError as exc:
            raise ValueError(to_config_error(exc, WeightValues, value).what) from None


class Dense(WeightLayer):
    """y = act(x @ W + b);  x: (N, fan_in) -> y: (N, units). Inputs of shape (N, *dims) are flattened."""

    Spec = DenseSpec
    per_step = False  # PerStepDense: the same W at every step of a sequence

    def __init__(
        self,
        units: int,
        activation: str | None = None,
        init: str | None = None,
        init_scale: float = 0.05,
        use_bias: bool = True,
        bias_init=None,
    ):
        self.given = (init, bias_init)  # `init: {values: [[...]]}`, `bias_init: {values: [...]}`: a textbook's numbers
        super().__init__(activation, None if given_values(init) is not None else init, init_scale, use_bias)
        self.units = int(units)
        self._flatten = False  # set by build(): images (C, H, W) are flattened implicitly

    @classmethod
    def from_config(cls, per_step: bool = False, **fields) -> Dense:
        return PerStepDense(**fields) if per_step else cls(**fields)

    @classmethod
    def estimate(cls, spec, input_shape):
        if spec.per_step:
            return PerStepDense.estimate(spec, input_shape)
        fan_in = math.prod(input_shape)
        check_given(spec.init, spec.bias_init, fan_in, spec.units, spec.use_bias)
        return fan_in * spec.units + spec.units * spec.use_bias, (spec.units,)

    @classmethod
    def reads_later_steps(cls, spec, input_shape):
        if len(input_shape) == 2 and not spec.per_step:
            return "without per_step: true a dense layer reads every step of its input at once"
        return None

    def build(self, input_shape, rng, dtype):
        fan_in = math.prod(input_shape)
        self._flatten = len(input_shape) != 1
        check_given(*self.given, fan_in, self.units, self.use_bias)
        W, b = (given_values(v) for v in self.given)
        W = initialize(self.init, (fan_in, self.units), rng, dtype, self.init_scale) if W is None else W
        self.params = {"W": np.array(W, dtype=dtype)}
        if self.use_bias:
            self.params["b"] = np.zeros(self.units, dtype=dtype) if b is None else np.array(b, dtype=dtype)
        self.grads = {k: np.zeros_like(p) for k, p in self.params.items()}
        return (self.units,)

    def forward(self, x, training):
        self._x_shape = x.shape
        if self._flatten:
            x = x.reshape(x.shape[0], -1)
        self._x = x  # dW needs the input
        z = x @ self.params["W"]  # (N, fan_in) @ (fan_in, units)
        if self.use_bias:
            z += self.params["b"]  # in place: z is ours
        return z if self.act is None else self.act.forward(z, training)

    def backward(self, dy):
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
        if self._flatten:
            text["forward"].insert(0, "x = x.reshape(N, −1)   (flattened)")
        return text

    def flops(self, batch: int) -> tuple[int, int]:
        fan_in, units = self.params["W"].shape
        matmul, bias = 2 * batch * fan_in * units, batch * units * self.use_bias  # a multiply-add counts 2
        act_f, act_b = self.act_flops(batch, (units,))
        return matmul + bias + act_f, act_b + matmul + bias + matmul * self.input_grad  # dW, db, dx


class PerStepDense(Dense):
    """`dense` with `per_step: true`: the same W and b at every step, x (N, C, L) -> y (N, units, L).

    The L steps of the N examples are N*L rows of one matmul, so W is shared across steps and its
    gradient sums over them: dW = Σ_{n,t} x[n, :, t]ᵀ dz[n, :, t]. The activation acts on each row
    (softmax over a step's units, not over the steps). Checkpoint layout and type: those of dense.
    """

    per_step = True

    @classmethod
    def estimate(cls, spec, input_shape):
        fan_in, steps = sequence_shape(input_shape, "dense with per_step: true")
        return fan_in * spec.units + spec.units * spec.use_bias, (spec.units, steps)

    def build(self, input_shape, rng, dtype):
        fan_in, self._steps = sequence_shape(input_shape, "dense with per_step: true")
        self.params = {"W": initialize(self.init, (fan_in, self.units), rng, dtype, self.init_scale)}
        if self.use_bias:
            self.params["b"] = np.zeros(self.units, dtype=dtype)
        self.grads = {k: np.zeros_like(p) for k, p in self.params.items()}
        return (self.units, self._steps)

    def forward(self, x, training):
        n, c, steps = x.shape
        rows = steps_first(x).reshape(n * steps, c)  # (N L, C): a copy unless x came as an (N, C, L) view
        y = super().forward(rows, training)  # (N L, units)
        return y.reshape(n, steps, self.units).transpose(0, 2, 1)  # the (N, units, L) view

    def backward(self, dy):
        n, units, steps = dy.shape
        dx = super().backward(steps_first(dy).reshape(n * steps, units))  # (N L, C), summed over steps in dW
        return None if dx is None else dx.reshape(n, steps, -1).transpose(0, 2, 1)  # (N, C, L) view

    def flops(self, batch: int) -> tuple[int, int]:
        return super().flops(batch * self._steps)  # N·L rows through one W
