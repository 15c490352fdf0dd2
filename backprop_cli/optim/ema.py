"""An exponential moving average of the weights (Polyak averaging, as timm's ModelEma and Keras' use_ema).

A shadow copy of the model's flat parameter buffer, updated after every optimizer step:

    shadow <- decay · shadow + (1 − decay) · params      (written shadow += (1 − decay)(params − shadow))

The shadow starts as the initial weights. It is what validation scores, what the best checkpoint is chosen
by and what the run's final weights are; the raw weights keep training. Only trainable parameters are
averaged: state such as batchnorm's running statistics is the raw model's (the average of the weights is
scored with the statistics the raw weights collected).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import numpy as np

from backprop_cli.optim.fused import kernel


def decay_from(decay: float | None, half_life_steps: float | None) -> float:
    """The per-step decay: given, or the one that halves an old weight's share in `half_life_steps` steps."""
    if half_life_steps is not None:
        return 0.5 ** (1.0 / half_life_steps)
    return float(decay)


class WeightAverage:
    """shadow <- shadow + (1 − decay)(params − shadow) after each step; one fused pass when numba runs."""

    fused_kernel = "ema"

    def __init__(self, params: np.ndarray, decay: float):
        self.decay = decay
        self.shadow = params.copy()  # (P,) like the model's flat_params
        self._diff = np.empty_like(params)  # the NumPy rule's work buffer, never saved

    def reset(self, params: np.ndarray) -> None:
        """Start the average again from `params` (weights loaded from elsewhere)."""
        self.shadow[...] = params

    def update(self, params: np.ndarray) -> None:
        c = params.dtype.type(1.0 - self.decay)  # in the parameters' dtype: float32 stays float32
        fused = kernel(self.fused_kernel, self.shadow, params)
        if fused is not None:
            fused(self.shadow, params, c)
            return
        np.subtract(params, self.shadow, out=self._diff)  # the kernel's operations, in its order
        self._diff *= c
        self.shadow += self._diff

    @contextmanager
    def swapped_into(self, params: np.ndarray) -> Iterator[None]:
        """The model runs on the averaged weights inside the block and on its own weights after it."""
        raw = params.copy()
        params[...] = self.shadow
        try:
            yield
        finally:
            params[...] = raw

    def tensors(self, slices: Mapping[str, slice], shapes: Mapping[str, tuple]) -> dict[str, np.ndarray]:
        """The shadow by parameter name ("0.W"), shaped like the parameter: views, not copies."""
        return {name: self.shadow[span].reshape(shapes[name]) for name, span in slices.items()}

    def load_tensors(self, tensors: Mapping[str, np.ndarray], slices: Mapping[str, slice]) -> None:
        for name, span in slices.items():
            self.shadow[span] = np.asarray(tensors[name]).reshape(-1)

    def explain(self) -> str:
        half_life = math.log(0.5) / math.log(self.decay) if 0 < self.decay < 1 else math.inf
        return (
            f"shadow ← {self.decay:g}·shadow + {1 - self.decay:g}·p after each step "
            f"(half-life {half_life:.4g} steps); validation and the final weights use the shadow"
        )
