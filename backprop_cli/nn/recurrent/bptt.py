"""What rnn, lstm and gru share: the input projection, the two directions, the weight gradients of BPTT.

A subclass gives the per-step math of one direction (`_run` forward over the steps, `_unroll`
backward over them in reverse) on time-major arrays; everything else is here:

    x (N, C, L) -> xt (L, N, C), time-major, so that step t is one contiguous (N, C) block
    xw = xt @ W + b                (L*N, C) @ (C, G*H): every step's input projection in one matmul
    per step: a_t = xw_t + h_{t-1} @ U   (N, H) @ (H, G*H): one matmul for all G gates
    dW = Σ_t x_tᵀ · da_t,  dU = Σ_t h_{t-1}ᵀ · dz_t,  db = Σ_t,n da_t,  dx_t = da_t · Wᵀ  (one matmul each)

G blocks of H = units columns, in PyTorch's gate order, so W = weight_ih_l0ᵀ and U = weight_hh_l0ᵀ.
`bidirectional` adds a second set (`W_reverse`, `U_reverse`, `b_reverse`) that reads the steps from
last to first; its outputs are put back in time order and concatenated after the forward ones.
"""

from __future__ import annotations

import math

import numpy as np

from backprop_cli.nn.base import Layer
from backprop_cli.nn.conv.windows import sequence_shape
from backprop_cli.nn.initializers import initialize
from backprop_cli.nn.kernels.blas import one_blas_thread

DIRECTIONS = ("", "_reverse")  # parameter-name suffixes: PyTorch's `_reverse` for the backward direction


def sigmoid_(a: np.ndarray) -> np.ndarray:
    """sigma(a) in place, as 0.5 (1 + tanh(a / 2)): never overflows."""
    a *= 0.5
    np.tanh(a, out=a)
    a += 1.0
    a *= 0.5
    return a


class Recurrent(Layer):
    """Shared part of the recurrent layers; `gates` blocks of `units` columns in W (C, G*H), U (H, G*H), b."""

    kind = "recurrent"
    gates = 1
    input_grad = True  # False: backward skips dx (a model's first layer)
    extra_bias = 0  # GRU: b_hn, the recurrent bias of the candidate
    pointwise = 4  # elementwise operations per unit and step, for flops() (a subclass counts its own)

    def __init__(
        self,
        units: int,
        return_sequences: bool = False,
        bidirectional: bool = False,
        init: str | None = None,
        recurrent_init: str = "orthogonal",
        init_scale: float = 0.05,
    ):
        super().__init__()
        self.units = int(units)
        self.return_sequences, self.bidirectional = bool(return_sequences), bool(bidirectional)
        self.init = init or "xavier_uniform"  # the input weights: Glorot, as Keras' kernel
        self.recurrent_init, self.init_scale = recurrent_init, float(init_scale)
        self.directions = DIRECTIONS if bidirectional else DIRECTIONS[:1]
        self.regularized = tuple(f"{w}{d}" for d in self.directions for w in ("W", "U"))
        self.time_grad_norm: dict[str, float] | None = None  # |dL/dh_t| at the first, middle, last step

    @classmethod
    def estimate(cls, spec, shape: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        """(parameter count, output shape) from a spec alone, checking the input is a sequence."""
        c, length = sequence_shape(shape, spec.type)
        h, g, d = spec.units, cls.gates, 1 + spec.bidirectional
        count = d * (c * g * h + h * g * h + g * h + cls.extra_bias * h)
        return count, ((d * h, length) if spec.return_sequences else (d * h,))

    def build(self, input_shape, rng, dtype):
        self.n_in, self.length = sequence_shape(input_shape, self.kind)
        h, g = self.units, self.gates
        for d in self.directions:
            self.params[f"W{d}"] = initialize(self.init, (self.n_in, g * h), rng, dtype, self.init_scale)
            blocks = [initialize(self.recurrent_init, (h, h), rng, dtype, self.init_scale) for _ in range(g)]
            self.params[f"U{d}"] = np.concatenate(blocks, axis=1)  # each gate's (H, H) block on its own
            self.params[f"b{d}"] = self.initial_bias(dtype)
            if self.extra_bias:
                self.params[f"b_hn{d}"] = np.zeros(h, dtype=dtype)
        self.grads = {k: np.zeros_like(p) for k, p in self.params.items()}
        width = len(self.directions) * h
        return (width, self.length) if self.return_sequences else (width,)

    def initial_bias(self, dtype) -> np.ndarray:
        return np.zeros(self.gates * self.units, dtype=dtype)

    def forward(self, x, training):
        with one_blas_thread():
            return self._forward(x)

    def backward(self, dy):
        with one_blas_thread():
            return self._backward(dy)

    def _forward(self, x):
        n, c, length = x.shape
        self._xt = xt = np.ascontiguousarray(x.transpose(2, 0, 1))  # (L, N, C): step t is xt[t]
        self._caches = []
        outs = []
        for d in self.directions:
            p = self._direction(d)
            xw = xt.reshape(length * n, c) @ p["W"]  # (L*N, C) @ (C, G*H)
            xw += p["b"]
            xw = xw.reshape(length, n, -1)
            cache = self._run(xw if d == "" else xw[::-1], p)  # the reverse direction reads the steps backwards
            self._caches.append(cache)
            hs = cache[0][1:]  # (L, N, H): h_1 .. h_L in the direction's own order
            outs.append(hs if d == "" else hs[::-1])  # back in time order
        if not self.return_sequences:  # the last state each direction reached: h_L, and h_1 of the reverse
            return np.concatenate([c[0][-1] for c in self._caches], axis=1)  # (N, D*H)
        return np.concatenate(outs, axis=2).transpose(1, 2, 0)  # (L, N, D*H) -> (N, D*H, L)

    def _direction(self, d: str, table: dict | None = None) -> dict[str, np.ndarray]:
        """One direction's tensors under their plain names (W, U, b, b_hn)."""
        table = self.params if table is None else table
        return {k[: len(k) - len(d)]: v for k, v in table.items() if k.endswith(d) and (d or "_reverse" not in k)}

    def _backward(self, dy):
        length, n, c = self._xt.shape
        h = self.units
        dxt = np.zeros_like(self._xt) if self.input_grad else None
        for j, (d, cache) in enumerate(zip(self.directions, self._caches, strict=True)):
            p, g = self._direction(d), self._direction(d, self.grads)
            if self.return_sequences:
                dh_seq = dy[:, j * h : (j + 1) * h].transpose(2, 0, 1)  # (L, N, H) in time order
                dh_seq, dh_last = (dh_seq if d == "" else dh_seq[::-1]), None
            else:
                dh_seq, dh_last = None, dy[:, j * h : (j + 1) * h]
            self._marks, self._norms = ({0, length // 2, length - 1} if d == "" else set()), {}
            da, dz = self._unroll(dh_seq, dh_last, cache, p, g)  # (L, N, G*H) each, the direction's order
            if d == "":
                self.time_grad_norm = {
                    k: self._norms[t] for k, t in (("first", 0), ("middle", length // 2), ("last", length - 1))
                }
            self._weight_grads(d, da, dz, cache[0], g)
            if dxt is not None:
                dx_dir = (da.reshape(length * n, -1) @ p["W"].T).reshape(length, n, c)  # (L*N, G*H) @ (G*H, C)
                dxt += dx_dir if d == "" else dx_dir[::-1]
        return None if dxt is None else dxt.transpose(1, 2, 0)  # (N, C, L)

    def _weight_grads(self, d: str, da: np.ndarray, dz: np.ndarray, hs: np.ndarray, g: dict) -> None:
        """dW = Σ_t x_tᵀ da_t, dU = Σ_t h_{t-1}ᵀ dz_t, db = Σ_t,n da_t: one matmul each over all steps."""
        length, n, c = self._xt.shape
        xt = self._xt if d == "" else self._xt[::-1]  # pair each step's input with its gradient
        da2, dz2 = da.reshape(length * n, -1), dz.reshape(length * n, -1)
        np.matmul(xt.reshape(length * n, c).T, da2, out=g["W"])  # (C, L*N) @ (L*N, G*H)
        np.matmul(hs[:-1].reshape(length * n, -1).T, dz2, out=g["U"])  # (H, L*N) @ (L*N, G*H)
        np.sum(da2, axis=0, out=g["b"])

    def _note(self, t: int, dh: np.ndarray) -> None:
        """Keep |dL/dh_t| at the first, middle and last step of the forward direction (the monitor reads it)."""
        if t in self._marks:
            self._norms[t] = math.sqrt(float(np.vdot(dh, dh)))

    def _start(self, dh_last: np.ndarray | None, shape: tuple[int, int], dtype) -> np.ndarray:
        """dL/dh_L: the output's gradient when only the last step is returned, else zeros (a copy: it is updated)."""
        return np.zeros(shape, dtype=dtype) if dh_last is None else np.array(dh_last, dtype=dtype)

    def _matmul_flops(self, batch: int) -> tuple[int, int]:
        """(input projection, recurrent products) multiply-adds x2, all directions and steps."""
        d, gh = len(self.directions), self.gates * self.units
        steps = batch * self.length
        return 2 * d * steps * self.n_in * gh, 2 * d * steps * self.units * gh

    def flops(self, batch: int) -> tuple[int, int]:
        """Forward: the two matmuls and ~`pointwise` operations per gate unit; backward: four matmuls."""
        proj, rec = self._matmul_flops(batch)
        pointwise = self.pointwise * len(self.directions) * batch * self.length * self.units
        return proj + rec + pointwise, 2 * (proj + rec) + 2 * pointwise
