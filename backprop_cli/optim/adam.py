"""Adam and AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019), bias-corrected, in PyTorch's semantics."""

from __future__ import annotations

import math

import numpy as np

from backprop_cli.optim.base import Optimizer, Slots


class Adam(Optimizer):
    """m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;  p <- p - lr m_hat / (sqrt(v_hat) + eps).

    m_hat = m / (1 - b1^t) and v_hat = v / (1 - b2^t) undo the start at zero (t counts from 1).
    """

    slot_names = ("m", "v")
    scratch_names = ("tmp",)
    fused_kernel = "adam"

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        super().__init__()
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def update(self, param: np.ndarray, grad: np.ndarray, slots: Slots, lr: float) -> None:
        b1, b2, t = self.beta1, self.beta2, self.t
        m, v, tmp = slots["m"], slots["v"], slots["tmp"]
        # The bias corrections are folded into two scalars (computed in float64, then cast):
        #   lr m_hat / (sqrt(v_hat) + eps) = [lr sqrt(bc2) / bc1] m / (sqrt(v) + eps sqrt(bc2)),
        # with bc1 = 1 - b1^t, bc2 = 1 - b2^t: PyTorch's expression, two passes fewer.
        root_bc2 = math.sqrt(1.0 - b2**t)
        step_size = lr * root_bc2 / (1.0 - b1**t)
        b1_, c1, b2_, c2, eps_, step_ = self.cast(param, b1, 1.0 - b1, b2, 1.0 - b2, self.eps * root_bc2, step_size)
        if self.run_fused(param, grad, slots, b1_, c1, b2_, c2, eps_, step_):
            return
        m *= b1_
        np.multiply(grad, c1, out=tmp)
        m += tmp  # m <- b1 m + (1 - b1) g
        v *= b2_
        np.multiply(grad, grad, out=tmp)
        tmp *= c2
        v += tmp  # v <- b2 v + (1 - b2) g^2
        np.sqrt(v, out=tmp)
        tmp += eps_
        np.divide(m, tmp, out=tmp)
        tmp *= step_
        param -= tmp

    def explain(self) -> list[str]:
        b1, b2 = f"{self.beta1:g}", f"{self.beta2:g}"
        return [
            f"m ← {b1}·m + {1 - self.beta1:g}·g,  v ← {b2}·v + {1 - self.beta2:g}·g²   (both start at 0)",
            f"m̂ = m / (1 − {b1}ᵗ),  v̂ = v / (1 − {b2}ᵗ)   (t: the step, from 1; undoes the start at 0)",
            f"p ← p − lr·m̂ / (√v̂ + {self.eps:g})",
        ]


class AdamW(Adam):
    """p <- p (1 - lr wd), then the Adam step: weight decay decoupled from the gradient (PyTorch's AdamW).

    The decay is applied before the Adam update of the same step, as `torch.optim.AdamW` does. It
    reaches only `decay_params` when given: views into the parameters that should decay (the model's
    weight matrices, which it exposes as one contiguous prefix view `flat_weights`), so that biases and
    batchnorm's gamma/beta are left alone. With `decay_params=None` every parameter passed to `step`
    decays, as in PyTorch's default single parameter group.
    """

    def __init__(
        self,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        decay_params: list[np.ndarray] | None = None,
    ) -> None:
        super().__init__(beta1, beta2, eps)
        self.weight_decay = weight_decay
        self.decay_params = decay_params

    def step(self, params: list[np.ndarray], grads: list[np.ndarray], lr: float) -> None:
        if self.weight_decay:
            for w in params if self.decay_params is None else self.decay_params:
                (keep,) = self.cast(w, 1.0 - lr * self.weight_decay)
                w *= keep  # p <- p (1 - lr wd): the decay does not pass through m and v
        super().step(params, grads, lr)

    def explain(self) -> list[str]:
        decay = f"p ← p·(1 − lr·{self.weight_decay:g})   (weights only, before the Adam step)"
        return [decay, *super().explain()]
