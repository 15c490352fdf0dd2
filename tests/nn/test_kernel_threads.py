"""Kernels split over threads by rows (kernels/threads.py) give one thread's bits: GELU, tanh, attention's softmax."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.nn.kernels import attention, fast_math, gelu
from backprop_cli.nn.kernels import threads as kernel_threads

pytest.importorskip("numba")


def _values(rng):
    x = (3 * rng.standard_normal((7, 33))).astype(np.float32)
    y, t = gelu.gelu_forward(x)
    dx = gelu.gelu_backward(np.ones_like(x), x, t)
    tanh = x.copy()
    fast_math.tanh_function(np.float32)(tanh)
    scores = rng.standard_normal((5, 3, 6, 6)).astype(np.float32)
    p = attention.attention_weights(scores, 0.5, True)
    ds = attention.attention_weights_backward(p, rng.standard_normal(p.shape).astype(np.float32), 0.5, True)
    return y, dx, tanh, p.copy(), ds


@pytest.mark.parametrize("threads", ["2", "3"])
def test_row_split_kernels_give_one_threads_bits(monkeypatch, threads):
    monkeypatch.delenv("BACKPROP_NO_NUMBA", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    whole = _values(np.random.default_rng(0))
    monkeypatch.setenv("OMP_NUM_THREADS", threads)
    monkeypatch.setattr(kernel_threads, "MIN_BYTES", 1)  # split even these small arrays
    calls, real = [], kernel_threads.bounds
    monkeypatch.setattr(kernel_threads, "bounds", lambda n, parts: calls.append(parts) or real(n, parts))
    split = _values(np.random.default_rng(0))
    assert calls.count(int(threads)) >= 5  # every kernel above ran in parts
    for a, b in zip(whole, split):
        np.testing.assert_array_equal(b, a)


def test_the_partition_is_fixed_and_covers_every_row():
    assert kernel_threads.bounds(7, 3) == [(0, 2), (2, 4), (4, 7)]
    assert kernel_threads.bounds(2, 2) == [(0, 1), (1, 2)]
