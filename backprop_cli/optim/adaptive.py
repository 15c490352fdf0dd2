"""Per-coordinate adaptive step sizes from a running sum or average of squared gradients (PyTorch semantics).

eps is added to the square root (outside it), as PyTorch does; `tmp` is scratch.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.optim.base import Optimizer, Slots


class Adagrad(Optimizer):
    """s <- s + g^2;  p <- p - lr g / (sqrt(s) + eps)   (PyTorch's Adagrad, lr_decay 0, s starts at 0)."""

    slot_names = ("s",)
    scratch_names = ("tmp",)

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def update(self, param: np.ndarray, grad: np.ndarray, slots: Slots, lr: float) -> None:
        eps, lr_ = self.cast(param, self.eps, lr)
        s, tmp = slots["s"], slots["tmp"]
        np.multiply(grad, grad, out=tmp)
        s += tmp  # s <- s + g^2
        _step_by_rms(param, grad, s, tmp, eps, lr_)

    def explain(self) -> list[str]:
        return ["s ← s + g²   (s starts at 0)", f"p ← p − lr·g / (√s + {self.eps:g})"]


class RMSprop(Optimizer):
    """s <- rho s + (1 - rho) g^2;  p <- p - lr g / (sqrt(s) + eps)   (PyTorch's RMSprop, alpha = rho).

    Not centered, no momentum; s starts at 0, so early steps are larger than lr (no bias correction).
    """

    slot_names = ("s",)
    scratch_names = ("tmp",)

    def __init__(self, rho: float = 0.9, eps: float = 1e-8) -> None:
        super().__init__()
        self.rho, self.eps = rho, eps

    def update(self, param: np.ndarray, grad: np.ndarray, slots: Slots, lr: float) -> None:
        rho, one_minus_rho, eps, lr_ = self.cast(param, self.rho, 1.0 - self.rho, self.eps, lr)
        s, tmp = slots["s"], slots["tmp"]
        s *= rho
        np.multiply(grad, grad, out=tmp)
        tmp *= one_minus_rho
        s += tmp  # s <- rho s + (1 - rho) g^2
        _step_by_rms(param, grad, s, tmp, eps, lr_)

    def explain(self) -> list[str]:
        rho = self.rho
        return [f"s ← {rho:g}·s + {1 - rho:g}·g²   (s starts at 0)", f"p ← p − lr·g / (√s + {self.eps:g})"]


def _step_by_rms(param: np.ndarray, grad: np.ndarray, s: np.ndarray, tmp: np.ndarray, eps, lr) -> None:
    """p <- p - lr g / (sqrt(s) + eps), through the scratch buffer `tmp`."""
    np.sqrt(s, out=tmp)
    tmp += eps
    np.divide(grad, tmp, out=tmp)
    tmp *= lr
    param -= tmp
