"""One step of an LSTM or a GRU, forward and backward: compiled loops (numba) beside their NumPy rules.

A step's elementwise work (four gate nonlinearities, the cell update, and in backward the gates'
derivatives) is a dozen NumPy calls over (N, 4H) arrays, each with its own pass and temporaries: two
thirds of a 128-unit LSTM step at batch 32 (bench/README.md). The kernels do the arithmetic of a
row in one pass; between them, one tanh over all the gates at once (kernels/fast_math.py: in float32
a rational function compiled to SIMD code, since the C library's tanhf that a compiled loop would
call is as slow as NumPy's here, ~20x a multiply). The products h·U stay with BLAS. So a forward
step is: matmul, kernel, tanh, kernel, tanh, product.

The rules are the reference and the fallback (numba missing, or `BACKPROP_NO_NUMBA=1`). Each kernel
does its rule's float operations in the same order and precision (constants passed in the arrays'
dtype, no fused multiply-add), so both give the same bits: tests/nn/test_recurrent_kernels.py holds
them equal in float32 and float64, and a run is the same with numba or without it.

Shapes: N rows (the batch), H units; a (N, G*H) holds the G gate blocks side by side in PyTorch's order.
σ(v) is written as 0.5 (1 + tanh(v / 2)), which never overflows: "halve" before the tanh, "finish" after.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.nn.kernels.fast_math import tanh_function
from backprop_cli.nn.kernels.fast_math import warm_up as warm_tanh
from backprop_cli.optim.fused import compiled, disabled

# ---- the steps: a tanh pass between the arithmetic (kernels or rules) ------------------------------


class Steps:
    """The step functions for arrays of one dtype: the compiled pieces or the NumPy rules, and the
    tanh, chosen once per layer pass (a step is ~0.1 ms: looking them up per step would cost 5%)."""

    def __init__(self, dtype):
        found = {} if disabled() else compiled("recurrent", _build)
        self.k = found or RULES
        self.tanh = tanh_function(dtype)
        self.one, self.half = np.dtype(dtype).type(1), np.dtype(dtype).type(0.5)

    def lstm(self, a, xw, c_prev, c, tc, h):
        """a (N, 4H) = h_{t-1}·U on entry, the gates i f g o on exit; c = f c_prev + i g, tc = tanh(c), h = o tc."""
        self.k["lstm_halve"](a, xw, self.half)  # a + x_t·W + b; the σ gates' arguments halved
        self.tanh(a)
        self.k["lstm_cell"](a, c_prev, c, self.one, self.half)  # i f o finished; c = f c_prev + i g
        self.tanh(c, tc)
        np.multiply(a[:, 3 * c.shape[1] :], tc, out=h)

    def gru(self, a, xw, hu, b_hn, hn, h_prev, h):
        """hu (N, 3H) = h_{t-1}·U; a (N, 3H) gets r z n; hn = h_{t-1}·U_n + b_hn; h = n + z (h_{t-1} - n)."""
        n_h = h.shape[1]
        self.k["gru_halve"](a, xw, hu, self.half)  # (x_t·W + h·U) / 2 for r and z
        self.tanh(a[:, : 2 * n_h])
        self.k["gru_candidate"](a, xw, hu, b_hn, hn, self.one, self.half)  # r z finished; n's argument
        self.tanh(a[:, 2 * n_h :])
        self.k["gru_mix"](a, h_prev, h)  # h = (h_{t-1} - n) z + n

    def lstm_backward(self, dh, dc, a, c_prev, tc, da):
        """da (N, 4H) = dL/d(pre-activations); dc (N, H): dc_t on entry, dL/dc_{t-1} through f on exit."""
        self.k["lstm_step_backward"](dh, dc, a, c_prev, tc, da, self.one)

    def gru_backward(self, dh, a, hn, h_prev, da, dz, dh_prev):
        """da (N, 3H): gradient of x·W + b; dz: of h·U (r scales n's part); dh_prev = dh ⊙ z (the direct path)."""
        self.k["gru_step_backward"](dh, a, hn, h_prev, da, dz, dh_prev, self.one)


# ---- the NumPy rules -----------------------------------------------------------------------------


def lstm_halve_rule(a, xw, half):
    n_h = a.shape[1] // 4
    a += xw
    a[:, : 2 * n_h] *= half  # i, f
    a[:, 3 * n_h :] *= half  # o


def lstm_cell_rule(a, c_prev, c, one, half):
    n_h = c.shape[1]
    for s in (slice(0, 2 * n_h), slice(3 * n_h, 4 * n_h)):  # i f, o: σ = (tanh + 1) / 2
        a[:, s] += one
        a[:, s] *= half
    i, f, g = (a[:, k * n_h : (k + 1) * n_h] for k in range(3))
    np.multiply(f, c_prev, out=c)
    c += i * g


def gru_halve_rule(a, xw, hu, half):
    n_h = a.shape[1] // 3
    rz = np.add(xw[:, : 2 * n_h], hu[:, : 2 * n_h], out=a[:, : 2 * n_h])
    rz *= half


def gru_candidate_rule(a, xw, hu, b_hn, hn, one, half):
    n_h = hn.shape[1]
    rz = a[:, : 2 * n_h]
    rz += one
    rz *= half
    np.add(hu[:, 2 * n_h :], b_hn, out=hn)
    cand = np.multiply(a[:, :n_h], hn, out=a[:, 2 * n_h :])  # r ⊙ (h·U_n + b_hn)
    cand += xw[:, 2 * n_h :]


def gru_mix_rule(a, h_prev, h):
    n_h = h.shape[1]
    cand = a[:, 2 * n_h :]
    np.subtract(h_prev, cand, out=h)
    h *= a[:, n_h : 2 * n_h]
    h += cand


def lstm_step_backward_rule(dh, dc, a, c_prev, tc, da, one):
    n_h = dc.shape[1]
    i, f, g, o = (a[:, k * n_h : (k + 1) * n_h] for k in range(4))
    di, df, dg, do = (da[:, k * n_h : (k + 1) * n_h] for k in range(4))
    dc += dh * o * (one - tc * tc)  # h_t = o ⊙ tanh(c_t)
    np.multiply(dh * tc, o * (one - o), out=do)  # σ' = σ (1 - σ)
    np.multiply(dc * g, i * (one - i), out=di)
    np.multiply(dc * c_prev, f * (one - f), out=df)
    np.multiply(dc * i, one - g * g, out=dg)  # tanh' = 1 - g²
    dc *= f  # c_{t-1} reaches c_t through the forget gate


def gru_step_backward_rule(dh, a, hn, h_prev, da, dz, dh_prev, one):
    n_h = dh.shape[1]
    r, z, cand = a[:, :n_h], a[:, n_h : 2 * n_h], a[:, 2 * n_h :]
    np.multiply(dh * (one - z), one - cand * cand, out=da[:, 2 * n_h :])  # dn ⊙ tanh'
    np.multiply(dh * (h_prev - cand), z * (one - z), out=da[:, n_h : 2 * n_h])  # dz ⊙ σ'
    np.multiply(da[:, 2 * n_h :] * hn, r * (one - r), out=da[:, :n_h])  # dr ⊙ σ'
    dz[:, : 2 * n_h] = da[:, : 2 * n_h]
    np.multiply(da[:, 2 * n_h :], r, out=dz[:, 2 * n_h :])  # through r ⊙ (h·U_n + b_hn)
    np.multiply(dh, z, out=dh_prev)  # h_{t-1} also reaches h_t directly, through z


RULES = {
    "lstm_halve": lstm_halve_rule,
    "lstm_cell": lstm_cell_rule,
    "lstm_step_backward": lstm_step_backward_rule,
    "gru_halve": gru_halve_rule,
    "gru_candidate": gru_candidate_rule,
    "gru_mix": gru_mix_rule,
    "gru_step_backward": gru_step_backward_rule,
}


# ---- the kernels ---------------------------------------------------------------------------------


def _build(jit) -> dict:
    # Every constant arrives typed as the arrays (one, half): a bare 1.0 would be float64 and turn
    # float32 arithmetic into float64, unlike NumPy. Each line does its rule's operations in its order.

    @jit
    def lstm_halve(a, xw, half):  # pragma: no cover - runs compiled
        n_h = a.shape[1] // 4
        for n in range(a.shape[0]):
            for j in range(4 * n_h):
                v = a[n, j] + xw[n, j]
                a[n, j] = v if 2 * n_h <= j < 3 * n_h else v * half  # g keeps its argument whole

    @jit
    def lstm_cell(a, c_prev, c, one, half):  # pragma: no cover - runs compiled
        n_h = c.shape[1]
        for n in range(c.shape[0]):
            for j in range(n_h):
                i = (a[n, j] + one) * half
                f = (a[n, n_h + j] + one) * half
                a[n, j], a[n, n_h + j] = i, f
                a[n, 3 * n_h + j] = (a[n, 3 * n_h + j] + one) * half
                c[n, j] = f * c_prev[n, j] + i * a[n, 2 * n_h + j]

    @jit
    def lstm_step_backward(dh, dc, a, c_prev, tc, da, one):  # pragma: no cover - runs compiled
        n_h = dc.shape[1]
        for n in range(dc.shape[0]):
            for j in range(n_h):
                i, f, g, o = a[n, j], a[n, n_h + j], a[n, 2 * n_h + j], a[n, 3 * n_h + j]
                d, t = dh[n, j], tc[n, j]
                dcj = dc[n, j] + d * o * (one - t * t)
                da[n, 3 * n_h + j] = (d * t) * (o * (one - o))
                da[n, j] = (dcj * g) * (i * (one - i))
                da[n, n_h + j] = (dcj * c_prev[n, j]) * (f * (one - f))
                da[n, 2 * n_h + j] = (dcj * i) * (one - g * g)
                dc[n, j] = dcj * f

    @jit
    def gru_halve(a, xw, hu, half):  # pragma: no cover - runs compiled
        for n in range(a.shape[0]):
            for j in range(2 * (a.shape[1] // 3)):
                a[n, j] = (xw[n, j] + hu[n, j]) * half

    @jit
    def gru_candidate(a, xw, hu, b_hn, hn, one, half):  # pragma: no cover - runs compiled
        n_h = hn.shape[1]
        for n in range(hn.shape[0]):
            for j in range(n_h):
                r = (a[n, j] + one) * half
                a[n, j] = r
                a[n, n_h + j] = (a[n, n_h + j] + one) * half
                u = hu[n, 2 * n_h + j] + b_hn[j]
                hn[n, j] = u
                a[n, 2 * n_h + j] = r * u + xw[n, 2 * n_h + j]

    @jit
    def gru_mix(a, h_prev, h):  # pragma: no cover - runs compiled
        n_h = h.shape[1]
        for n in range(h.shape[0]):
            for j in range(n_h):
                cand = a[n, 2 * n_h + j]
                h[n, j] = (h_prev[n, j] - cand) * a[n, n_h + j] + cand

    @jit
    def gru_step_backward(dh, a, hn, h_prev, da, dz, dh_prev, one):  # pragma: no cover - runs compiled
        n_h = dh.shape[1]
        for n in range(dh.shape[0]):
            for j in range(n_h):
                r, z, cand, d = a[n, j], a[n, n_h + j], a[n, 2 * n_h + j], dh[n, j]
                dn = (d * (one - z)) * (one - cand * cand)
                dzg = (d * (h_prev[n, j] - cand)) * (z * (one - z))
                dr = (dn * hn[n, j]) * (r * (one - r))
                da[n, j], da[n, n_h + j], da[n, 2 * n_h + j] = dr, dzg, dn
                dz[n, j], dz[n, n_h + j], dz[n, 2 * n_h + j] = dr, dzg, dn * r
                dh_prev[n, j] = d * z

    return {
        "lstm_halve": lstm_halve,
        "lstm_cell": lstm_cell,
        "lstm_step_backward": lstm_step_backward,
        "gru_halve": gru_halve,
        "gru_candidate": gru_candidate,
        "gru_mix": gru_mix,
        "gru_step_backward": gru_step_backward,
    }


def warm_up(dtype) -> None:
    """Compile (or load from the disk cache) the kernels for `dtype` on tiny arrays, before a timed loop."""
    if disabled() or not compiled("recurrent", _build):
        return
    warm_tanh()
    four, three = (np.zeros((1, g), dtype=dtype) for g in (4, 3))  # contiguous, as the layers pass them
    o = [np.zeros((1, 1), dtype=dtype) for _ in range(6)]
    steps = Steps(dtype)
    steps.lstm(four, four.copy(), *o[:4])
    steps.lstm_backward(o[0], o[1], four, o[2], o[3], four.copy())
    steps.gru(three, three.copy(), three.copy(), np.zeros(1, dtype=dtype), *o[:3])
    steps.gru_backward(o[0], three, o[1], o[2], three.copy(), three.copy(), o[3])
