"""Attention's softmax over the keys, forward and backward: compiled loops (numba) beside their NumPy rules.

    forward   P = softmax(S * scale + M) over each row, M = -inf above the diagonal when causal
    backward  dS = P * (dP - rowsum(dP * P)) * scale

The rules make five passes forward (scale, mask, max, exp, sum and divide) and four backward over
the (N, H, L, L) scores, the largest arrays of a transformer step; a kernel makes one pass per row,
and with the causal mask it touches only the keys at or before the query (half of them), writing
the zeros above the diagonal directly. The rows are split over the cores (kernels/threads.py).

Not the same bits as the rules: a kernel sums each row in order where NumPy sums pairwise, and its
exp is the C library's where NumPy has its own. The values agree to a few units in the last place
(tests/nn/test_attention_kernels.py: float32 and float64), masked weights are exactly 0 on both
paths, and each path gives the same bits run to run (one thread per row, in order).
"""

from __future__ import annotations

import numpy as np

from backprop_cli.nn.kernels.threads import split_rows
from backprop_cli.optim.fused import compiled, disabled


def causal_mask(steps: int, dtype) -> np.ndarray:
    """(L, L): 0 on and below the diagonal, -inf above (a query never sees a later key)."""
    return np.triu(np.full((steps, steps), -np.inf, dtype=dtype), k=1)


def softmax_rows(s: np.ndarray) -> np.ndarray:
    """softmax over the last axis, in place on s (ours); each row has a finite entry (its diagonal)."""
    s -= s.max(axis=-1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=-1, keepdims=True)
    return s


def attention_weights(scores: np.ndarray, scale: float, causal: bool) -> np.ndarray:
    """P from the raw scores Q Kᵀ (N, H, L, L), in place: the softmax of scores * scale (+ the causal mask)."""
    kernel = _kernel("softmax", scores)
    if kernel is not None:
        kernel(scores.reshape(-1, *scores.shape[-2:]), scores.dtype.type(scale), causal)
        return scores
    scores *= scale
    if causal:
        scores += causal_mask(scores.shape[-1], scores.dtype)  # (L, L): -inf where a key comes later
    return softmax_rows(scores)


def attention_weights_backward(p: np.ndarray, dp: np.ndarray, scale: float, causal: bool) -> np.ndarray:
    """dS = P * (dP - rowsum(dP * P)) * scale; masked entries have P = 0, so dS = 0 there. May overwrite dp."""
    kernel = _kernel("softmax_backward", p, dp)
    if kernel is None:
        ds = p * (dp - np.sum(dp * p, axis=-1, keepdims=True))
        ds *= scale
        return ds
    kernel(p.reshape(-1, *p.shape[-2:]), dp.reshape(-1, *dp.shape[-2:]), dp.dtype.type(scale), causal)
    return dp


def _kernel(name: str, *arrays: np.ndarray):
    """The compiled `name` when the arrays are C-contiguous floats of one dtype, else None (the rule runs)."""
    first = arrays[0]
    if disabled() or first.dtype.kind != "f":
        return None
    if not all(a.flags.c_contiguous and a.dtype == first.dtype for a in arrays):
        return None
    kernel = compiled("attention", _build).get(name)
    return None if kernel is None else split_rows(kernel)  # rows of scores are independent: any split, same bits


def _build(jit) -> dict:
    @jit
    def softmax(s, scale, causal):  # pragma: no cover - runs compiled
        steps = s.shape[2]
        for b in range(s.shape[0]):
            for i in range(s.shape[1]):
                row = s[b, i]
                end = i + 1 if causal else steps  # the keys this query sees
                top = row[0] * scale
                for j in range(end):
                    v = row[j] * scale
                    row[j] = v
                    if v > top or v != v:  # NaN wins, as in np.max
                        top = v
                total = row[0] * 0
                for j in range(end):
                    e = np.exp(row[j] - top)
                    row[j] = e
                    total += e
                for j in range(end):
                    row[j] = row[j] / total
                for j in range(end, steps):
                    row[j] = 0

    @jit
    def softmax_backward(p, dp, scale, causal):  # pragma: no cover - runs compiled
        steps = p.shape[2]
        for b in range(p.shape[0]):
            for i in range(p.shape[1]):
                pr, dr = p[b, i], dp[b, i]
                end = i + 1 if causal else steps  # above the diagonal P = 0, and so is dS
                dot = pr[0] * 0
                for j in range(end):
                    dot += dr[j] * pr[j]
                for j in range(end):
                    dr[j] = pr[j] * (dr[j] - dot) * scale
                for j in range(end, steps):
                    dr[j] = 0

    return {"softmax": softmax, "softmax_backward": softmax_backward}


def warm_up(dtype) -> None:
    """Compile (or load from the disk cache) both kernels for `dtype` on a tiny array."""
    s = np.zeros((1, 1, 2, 2), dtype=dtype)
    attention_weights_backward(attention_weights(s, 1.0, True), np.zeros_like(s), 1.0, True)
