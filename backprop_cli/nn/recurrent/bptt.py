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
from backprop_cli.nn.kernels import recurrent as recurrent_kernels
from backprop_cli.nn.kernels.blas import one_blas_thread
from backprop_cli.nn.kernels.threads import bounds, in_parallel, kernel_threads

MIN_ROWS = 8  # a block of fewer examples makes each step's product too thin to pay for a thread
DIRECTIONS = ("", "_reverse")  # parameter-name suffixes: PyTorch's `_reverse` for the backward direction


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

    def warm_up(self) -> None:
        """Compile (or load) the step kernels before a timed loop starts."""
        recurrent_kernels.warm_up(self.params["W"].dtype)

    def forward(self, x, training):
        return self._forward(x)

    def backward(self, dy):
        return self._backward(dy)

    def _by_rows(self, fn, n: int, args: tuple, axes: tuple) -> tuple[np.ndarray, ...]:
        """fn(*args) on row blocks of the batch (axes: each argument's batch axis, None for none), one block a
        thread, each on one BLAS thread; the results joined along their batch axis 1. The examples are
        independent through every step, so the blocks run at once; the partition is fixed by the thread
        count (kernels/threads.py), and so are the bits."""
        parts = min(kernel_threads(), n // MIN_ROWS) or 1
        blocks = [tuple(_rows(a, axis, lo, hi) for a, axis in zip(args, axes)) for lo, hi in bounds(n, parts)]
        with one_blas_thread():  # a step's product (N, H) @ (H, G*H) is too small to share (kernels/blas.py)
            results = in_parallel([(fn, block) for block in blocks])
        if parts == 1:
            return results[0]
        joined: dict[int, np.ndarray] = {}  # an LSTM returns da twice: the two stay one array
        first = results[0]
        return tuple(
            joined.setdefault(id(r), np.concatenate([p[i] for p in results], axis=1)) for i, r in enumerate(first)
        )

    def _forward(self, x):
        n, c, length = x.shape
        self._xt = xt = np.ascontiguousarray(x.transpose(2, 0, 1))  # (L, N, C): step t is xt[t]
        self._caches = []
        outs = []
        for d in self.directions:
            p = self._direction(d)
            with one_blas_thread(2 * xt.size * p["W"].shape[1]):  # a second BLAS thread only where it pays
                xw = xt.reshape(length * n, c) @ p["W"]  # (L*N, C) @ (C, G*H)
            xw += p["b"]
            xw = xw.reshape(length, n, -1)
            xw = xw if d == "" else xw[::-1]  # the reverse direction reads the steps backwards
            cache = self._by_rows(self._run, n, (xw, p), (1, None))  # hs, ... (L[+1], N, ...)
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
            self._marks, self._norms = ({0, length // 2, length - 1} if d == "" else set()), []
            args = (dh_seq, dh_last, cache, p, g)
            da, dz = self._by_rows(self._unroll, n, args, (1, 0, 1, None, None))  # (L, N, G*H), the direction's order
            if d == "":
                squares = {t: sum(sq for s, sq in self._norms if s == t) for t in self._marks}  # over the row blocks
                self.time_grad_norm = {
                    k: math.sqrt(squares[t]) for k, t in (("first", 0), ("middle", length // 2), ("last", length - 1))
                }
            with one_blas_thread(2 * da.size * (c + h)):  # dW, dU (and dx): one product each over all steps
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
        """Keep |dL/dh_t|² of these rows at the first, middle and last step of the forward direction (the
        monitor reads |dL/dh_t|: the root of the row blocks' sum); list.append is atomic across threads."""
        if t in self._marks:
            self._norms.append((t, float(np.vdot(dh, dh))))

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


def _rows(a, axis: int | None, lo: int, hi: int):
    """Rows lo..hi of `a` along its batch `axis` (of each array of a tuple); None and axis None pass whole."""
    if a is None or axis is None:
        return a
    if isinstance(a, tuple):
        return tuple(_rows(x, axis, lo, hi) for x in a)
    return a[(slice(None),) * axis + (slice(lo, hi),)]
