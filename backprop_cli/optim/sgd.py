"""Stochastic gradient descent and its momentum variants, in PyTorch's `torch.optim.SGD` conventions.

Each rule is one in-place pass over the (usually single, flat) parameter array; `tmp` is scratch.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.optim.base import Optimizer, Slots


class SGD(Optimizer):
    """p <- p - lr g."""

    scratch_names = ("tmp",)

    def update(self, param: np.ndarray, grad: np.ndarray, slots: Slots, lr: float) -> None:
        (lr_,) = self.cast(param, lr)
        np.multiply(grad, lr_, out=slots["tmp"])
        param -= slots["tmp"]

    def explain(self) -> list[str]:
        return ["p ← p − lr·g"]


class Momentum(Optimizer):
    """v <- mu v + g;  p <- p - lr v   (PyTorch's SGD(momentum=mu), dampening 0; v starts at 0, so v_1 = g).

    PyTorch's convention, not Sutskever's v <- mu v - lr g: the velocity is measured in gradient
    units and lr scales it at use, so changing lr mid-run (a schedule) does not rescale the past.
    """

    slot_names = ("v",)
    scratch_names = ("tmp",)
    fused_kernel = "momentum"

    def __init__(self, momentum: float = 0.9) -> None:
        super().__init__()
        self.momentum = momentum

    def update(self, param: np.ndarray, grad: np.ndarray, slots: Slots, lr: float) -> None:
        mu, lr_ = self.cast(param, self.momentum, lr)
        v, tmp = slots["v"], slots["tmp"]
        if self.run_fused(param, grad, slots, mu, lr_):
            return
        v *= mu
        v += grad  # v <- mu v + g
        np.multiply(v, lr_, out=tmp)
        param -= tmp  # p <- p - lr v

    def explain(self) -> list[str]:
        return [f"v ← {self.momentum:g}·v + g   (v starts at 0)", "p ← p − lr·v"]


class Nesterov(Momentum):
    """v <- mu v + g;  p <- p - lr (g + mu v)   (PyTorch's SGD(momentum=mu, nesterov=True)).

    The step looks ahead: it uses the gradient plus the velocity it is about to follow.
    """

    fused_kernel = "nesterov"

    def update(self, param: np.ndarray, grad: np.ndarray, slots: Slots, lr: float) -> None:
        mu, lr_ = self.cast(param, self.momentum, lr)
        v, tmp = slots["v"], slots["tmp"]
        if self.run_fused(param, grad, slots, mu, lr_):
            return
        v *= mu
        v += grad  # v <- mu v + g
        np.multiply(v, mu, out=tmp)
        tmp += grad  # g + mu v
        tmp *= lr_
        param -= tmp

    def explain(self) -> list[str]:
        mu = f"{self.momentum:g}"
        return [f"v ← {mu}·v + g   (v starts at 0)", f"p ← p − lr·(g + {mu}·v)   (a look ahead along v)"]
