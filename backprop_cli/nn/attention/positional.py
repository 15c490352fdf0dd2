"""Position information added to a sequence: a learned table or the fixed sinusoids of "Attention Is All You Need"."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from backprop_cli.config.spec import Spec
from backprop_cli.errors import ConfigError, DataError
from backprop_cli.nn.base import Layer
from backprop_cli.nn.steps import sequence_shape


class PositionalSpec(Spec):
    type: Literal["positional"]
    kind: Literal["learned", "sinusoidal"] = "learned"
    max_length: int | None = Field(None, gt=0, le=1 << 20)  # None: the input's length (the data's context)
    init_scale: float = Field(0.02, gt=0, le=1e3)  # learned: std of the N(0, s^2) table


def sinusoids(dim: int, length: int, dtype) -> np.ndarray:
    """P (dim, length): P[2i, t] = sin(t / 10000^(2i/dim)), P[2i+1, t] = cos(t / 10000^(2i/dim))."""
    t = np.arange(length, dtype=np.float64)
    freq = 10000.0 ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)  # (ceil(dim/2),)
    angle = freq[:, None] * t[None, :]  # (ceil(dim/2), length)
    table = np.empty((dim, length))
    table[0::2] = np.sin(angle)
    table[1::2] = np.cos(angle[: dim // 2])
    return table.astype(dtype)


def _table_shape(input_shape: tuple[int, ...], max_length: int | None) -> tuple[int, int]:
    """(dim, length) of the position table for sequences (dim, L). A model is built for sequences of L steps:
    a max_length below that could never run (forward would refuse every batch)."""
    dim, steps = sequence_shape(input_shape, "positional")
    if max_length and steps > max_length:
        raise ConfigError(
            f"max_length {max_length} is shorter than the {steps}-step sequences the model is built for",
            fix=f"raise max_length to at least {steps}, or leave it out (it defaults to the sequence length)",
        )
    return dim, int(max_length or steps)


class Positional(Layer):
    """y[:, :, t] = x[:, :, t] + P[:, t];  x (N, dim, L), L <= max_length.

    kind "learned": P (dim, max_length) is a parameter, N(0, 0.02^2), dP[:, t] = sum_n dy[n, :, t] for the
    steps seen and 0 beyond; kind "sinusoidal": P is fixed (no parameters). max_length defaults to the
    input's length. A shorter input (generation) uses the first L columns.
    """

    Spec = PositionalSpec

    def __init__(self, kind: str = "learned", max_length: int | None = None, init_scale: float = 0.02):
        super().__init__()
        self.kind, self.max_length, self.init_scale = kind, max_length, float(init_scale)

    @classmethod
    def estimate(cls, spec, input_shape):
        dim, length = _table_shape(input_shape, spec.max_length)
        return (dim * length if spec.kind == "learned" else 0), tuple(input_shape)

    def build(self, input_shape, rng, dtype):
        dim, self._length = _table_shape(input_shape, self.max_length)
        self._dim = dim
        if self.kind == "learned":
            p = rng.standard_normal((dim, self._length), dtype=dtype)
            p *= self.init_scale
            self.params = {"P": p}
            self.grads = {"P": np.zeros_like(p)}
        else:
            self._table = sinusoids(dim, self._length, dtype)
        return tuple(input_shape)

    def positions(self) -> np.ndarray:
        """The table P (dim, max_length) added to the steps: learned or fixed (exporters read it)."""
        return self.params["P"] if self.kind == "learned" else self._table

    def forward(self, x, training):
        steps = x.shape[2]
        if steps > self._length:
            raise DataError(
                f"a sequence of {steps} steps is longer than the positional layer's max_length {self._length}",
                fix="give at most max_length steps, or raise max_length and retrain",
            )
        self._steps = steps
        return x + self.positions()[:, :steps]  # (N, dim, L) + (dim, L)

    def backward(self, dy):
        if self.kind == "learned":
            dP = self.grads["P"]
            dP[:, self._steps :] = 0.0  # positions this batch did not reach get no gradient
            np.sum(dy, axis=0, out=dP[:, : self._steps])
        return dy  # the sum's other term: dx = dy

    def explain(self) -> dict[str, list[str]]:
        table = "P learned (dim × max_length)" if self.kind == "learned" else "P[2i,t] = sin(t/10000^(2i/d)), cos"
        backward = ["dx = dy"]
        if self.kind == "learned":
            backward.insert(0, "dP[:, t] = Σₙ dy[n, :, t]")
        return {"forward": [f"y[:, t] = x[:, t] + P[:, t]   ({table})"], "backward": backward}

    def flops(self, batch: int) -> tuple[int, int]:
        n = batch * self._dim * self._length
        return n, n if self.kind == "learned" else 0
