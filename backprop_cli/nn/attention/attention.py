"""Multi-head scaled dot-product self-attention, with its four projections and an optional causal mask."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field

from backprop_cli.config.spec import Spec
from backprop_cli.errors import ConfigError
from backprop_cli.nn.base import Layer
from backprop_cli.nn.initializers import initialize
from backprop_cli.nn.kernels.attention import attention_weights, attention_weights_backward
from backprop_cli.nn.kernels.attention import warm_up as warm_attention
from backprop_cli.nn.steps import sequence_shape, steps_first

PROJECTIONS = ("q", "k", "v", "o")
BIASED = ("q", "v", "o")  # not k: see the class docstring


class AttentionSpec(Spec):
    type: Literal["attention"]
    heads: int = Field(1, gt=0, le=1024)
    causal: bool = True  # a step attends to itself and earlier steps only
    dropout: float = Field(0.0, ge=0, lt=1)  # on the attention weights, in training


def check_heads(heads: int, dim: int) -> None:
    """The heads split the features evenly; checked when the layer is built and when a model is estimated."""
    if dim % heads:
        raise ConfigError(
            f"attention with {heads} heads needs features divisible by {heads}, but its input has {dim}",
            fix="choose heads that divide the embedding dim",
        )


class Attention(Layer):
    """y = concat_h(softmax(Q_h K_hᵀ / sqrt(d_h) + M) V_h) Wo + bo,  Q = x Wq + bq, K = x Wk, V = x Wv + bv.

    x (N, D, L) -> y (N, D, L); inside, the (N, L, D) view (a step's features as a row). Heads split D
    into H blocks of d_h = D / H. The causal mask M is -inf above the diagonal: step t attends to steps
    <= t only. Dropout (rate `dropout`) zeroes attention weights in training. Memory: the weights P
    (N, H, L, L) are kept for backward, O(H L^2) per example. Weights xavier_uniform, biases zero.
    K has no bias: it would add q·b_k to every score of a row, which the softmax ignores, so its
    gradient is exactly zero (PyTorch keeps one; it never changes the output).
    """

    Spec = AttentionSpec
    regularized = ("Wq", "Wk", "Wv", "Wo")

    def __init__(self, heads: int = 1, causal: bool = True, dropout: float = 0.0):
        super().__init__()
        self.heads, self.causal, self.dropout = int(heads), bool(causal), float(dropout)

    @classmethod
    def estimate(cls, spec, input_shape):
        dim, _ = sequence_shape(input_shape, "attention")
        check_heads(spec.heads, dim)
        return 4 * dim * dim + len(BIASED) * dim, tuple(input_shape)

    @classmethod
    def reads_later_steps(cls, spec, input_shape):
        return None if spec.causal else "with causal: false each step attends to the steps after it"

    def build(self, input_shape, rng, dtype):
        dim, self._steps = sequence_shape(input_shape, "attention")
        check_heads(self.heads, dim)
        self._rng, self._dim = rng, dim
        self.params, self.grads = {}, {}
        for name in PROJECTIONS:
            self.params[f"W{name}"] = initialize("xavier_uniform", (dim, dim), rng, dtype, 0.0)
        for name in BIASED:
            self.params[f"b{name}"] = np.zeros(dim, dtype=dtype)
        self.grads = {k: np.zeros_like(p) for k, p in self.params.items()}
        return (dim, self._steps)

    def weights(self) -> np.ndarray:
        """The last forward's attention weights P (N, H, L, L): row t says how step t spread its attention."""
        return self._p

    def warm_up(self) -> None:
        """Compile (or load) the softmax kernels before a timed loop starts."""
        warm_attention(self.params["Wq"].dtype)

    # ---- forward ----------------------------------------------------------------------------------
    def _project(self, xt: np.ndarray, name: str) -> np.ndarray:
        a = xt @ self.params[f"W{name}"]  # (N, L, D) @ (D, D)
        if name in BIASED:
            a += self.params[f"b{name}"]
        return a

    def _split(self, a: np.ndarray) -> np.ndarray:
        n, steps, _ = a.shape  # (N, L, D) -> (N, H, L, d_h)
        return a.reshape(n, steps, self.heads, -1).transpose(0, 2, 1, 3)

    def forward(self, x, training):
        xt = steps_first(x)  # (N, L, D)
        self._xt = xt
        q, k, v = (self._split(self._project(xt, name)) for name in "qkv")
        scale = 1.0 / math.sqrt(q.shape[-1])
        scores = q @ k.transpose(0, 1, 3, 2)  # (N, H, L, d_h) @ (N, H, d_h, L) -> (N, H, L, L)
        p = attention_weights(scores, scale, self.causal)  # softmax(S·scale + M) in place (kernels/attention.py)
        self._q, self._k, self._v, self._p, self._scale = q, k, v, p, scale
        self._keep = None
        if training and self.dropout > 0.0:
            keep = 1.0 - self.dropout
            self._keep = (self._rng.random(p.shape, dtype=p.dtype) < keep) * p.dtype.type(1.0 / keep)
            p = p * self._keep
        heads = p @ v  # (N, H, L, L) @ (N, H, L, d_h) -> (N, H, L, d_h)
        self._o = heads.transpose(0, 2, 1, 3).reshape(xt.shape)  # concat heads: (N, L, D)
        return self._project(self._o, "o").transpose(0, 2, 1)  # (N, L, D) -> the (N, D, L) view

    # ---- backward ---------------------------------------------------------------------------------
    def _weight_grads(self, a: np.ndarray, da: np.ndarray, name: str) -> None:
        """For a = x W + b: dW = xᵀ da over every example and step, db = Σ da."""
        d = da.shape[-1]
        rows = da.reshape(-1, d)  # (N L, D)
        np.matmul(a.reshape(-1, d).T, rows, out=self.grads[f"W{name}"])  # (D, N L) @ (N L, D)
        if name in BIASED:
            np.sum(rows, axis=0, out=self.grads[f"b{name}"])

    def backward(self, dy):
        dyt = np.ascontiguousarray(steps_first(dy))  # (N, L, D)
        self._weight_grads(self._o, dyt, "o")
        d_heads = self._split(dyt @ self.params["Wo"].T)  # (N, L, D) @ (D, D) -> (N, H, L, d_h)
        p = self._p if self._keep is None else self._p * self._keep
        dv = p.transpose(0, 1, 3, 2) @ d_heads  # (N, H, L, L)ᵀ @ (N, H, L, d_h)
        dp = d_heads @ self._v.transpose(0, 1, 3, 2)  # (N, H, L, d_h) @ (N, H, d_h, L) -> (N, H, L, L)
        if self._keep is not None:
            dp *= self._keep
        # softmax backward per row: dS = P * (dP - Σ_j dP_j P_j) * scale; masked entries have P = 0, so dS = 0 there
        ds = attention_weights_backward(self._p, dp, self._scale, self.causal)
        dq = ds @ self._k  # (N, H, L, L) @ (N, H, L, d_h)
        dk = ds.transpose(0, 1, 3, 2) @ self._q
        dx = np.zeros_like(dyt)
        for name, d in zip("qkv", (dq, dk, dv)):
            d = d.transpose(0, 2, 1, 3).reshape(dyt.shape)  # merge heads: (N, L, D)
            self._weight_grads(self._xt, d, name)
            dx += d @ self.params[f"W{name}"].T  # x feeds Q, K and V: their gradients add
        return dx.transpose(0, 2, 1)  # (N, D, L) view

    # ---- teaching hooks ---------------------------------------------------------------------------
    def explain(self) -> dict[str, list[str]]:
        mask = " + M (M = -inf above the diagonal: causal)" if self.causal else ""
        return {
            "forward": [
                "Q = x·Wq + bq,  K = x·Wk,  V = x·Wv + bv   (per step; split into heads of d_h = D/H)",
                f"S_h = Q_h·K_hᵀ / sqrt(d_h){mask}",
                "P_h = softmax(S_h) over the keys" + (f", dropout {self.dropout}" if self.dropout else ""),
                "O = concat_h(P_h·V_h),  y = O·Wo + bo",
            ],
            "backward": [
                "dWo = Oᵀ·dy,  dbo = Σ dy,  dO = dy·Woᵀ",
                "dV_h = P_hᵀ·dO_h,  dP_h = dO_h·V_hᵀ",
                "dS_h = P_h * (dP_h - rowsum(dP_h * P_h)) / sqrt(d_h)",
                "dQ_h = dS_h·K_h,  dK_h = dS_hᵀ·Q_h",
                "dWq = xᵀ·dQ (same for K, V),  dx = dQ·Wqᵀ + dK·Wkᵀ + dV·Wvᵀ",
            ],
        }

    def flops(self, batch: int) -> tuple[int, int]:
        n, d, h = batch * self._steps, self._dim, self.heads
        projections = 4 * 2 * n * d * d
        attention = 2 * 2 * n * self._steps * d  # QKᵀ and P·V, each 2 L² d_h per head and example
        softmax = 5 * batch * h * self._steps**2
        return projections + attention + softmax, 2 * (projections + attention) + 4 * batch * h * self._steps**2
