"""Position information added to a sequence: a learned table or the fixed sinusoids of "Attention Is All You Need"."""

from __future__ import annotations

import numpy as np

from backprop_cli.errors import ConfigError, DataError
from backprop_cli.nn.base import Layer
from backprop_cli.nn.steps import sequence_shape


def sinusoids(dim: int, length: int, dtype) -> np.ndarray:
    """P (dim, length): P[2i, t] = sin(t / 10000^(2i/dim)), P[2i+1, t] = cos(t / 10000^(2i/dim))."""
    t = np.arange(length, dtype=np.float64)
    freq = 10000.0 ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)  # (ceil(dim/2),)
    angle = freq[:, None] * t[None, :]  # (ceil(dim/2), length)
    table = np.empty((dim, length))
    table[0::2] = np.sin(angle)
    table[1::2] = np.cos(angle[: dim // 2])
    return table.astype(dtype)



def check_max_length(max_length: int | None, steps: int) -> None:
    """A model is built for sequences of `steps`: a max_length below that could never run (forward would refuse
    every batch); checked when the layer is built and when a model is estimated."""
    if max_length and steps > max_length:
        raise ConfigError(
            f"max_length {max_length} is shorter than the {steps}-step sequences the model is built for",
            fix=f"raise max_length to at least {steps}, or leave it out (it defaults to the sequence length)",
        )

class Positional(Layer):
    """y[:, :, t] = x[:, :, t] + P[:, t];  x (N, dim, L), L <= max_length.

    kind "learned": P (dim, max_length) is a parameter, N(0, 0.02^2), dP[:, t] = sum_n dy[n, :, t] for the
    steps seen and 0 beyond; kind "sinusoidal": P is fixed (no parameters). max_length defaults to the
    input's length. A shorter input (generation) uses the first L columns.
    """

    def __init__(self, kind: str = "learned", max_length: int | None = None, init_scale: float = 0.02):
        super().__init__()
        self.kind, self.max_length, self.init_scale = kind, max_length, float(init_scale)

    def build(self, input_shape, rng, dtype):
        dim, steps = sequence_shape(input_shape, "positional")
        check_max_length(self.max_length, steps)
        self._length = int(self.max_length or steps)
        self._dim = dim
        if self.kind == "learned":
            p = rng.standard_normal((dim, self._length), dtype=dtype)
            p *= self.init_scale
            self.params = {"P": p}
            self.grads = {"P": np.zeros_like(p)}
        else:
            self._table = sinusoids(dim, self._length, dtype)
        return (dim, steps)

    def _positions(self) -> np.ndarray:
        return self.params["P"] if self.kind == "learned" else self._table

    def forward(self, x, training):
        steps = x.shape[2]
        if steps > self._length:
            raise DataError(
                f"a sequence of {steps} steps is longer than the positional layer's max_length {self._length}",
                fix="give at most max_length steps, or raise max_length and retrain",
            )
        self._steps = steps
        return x + self._positions()[:, :steps]  # (N, dim, L) + (dim, L)

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
