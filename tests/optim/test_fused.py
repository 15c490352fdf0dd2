"""The optional fused kernels (numba) against the NumPy rules they replace: the same bits, step after step."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.optim import fused
from backprop_cli.optim.adam import Adam, AdamW
from backprop_cli.optim.sgd import Momentum, Nesterov

pytest.importorskip("numba")


def steps(opt, n, dtype, use_kernel, monkeypatch, threads=1):
    """Run 5 steps on a flat buffer of n elements, some gradients exactly zero (as MNIST's border);
    returns the parameters and every slot."""
    if use_kernel:
        monkeypatch.delenv("BACKPROP_NO_NUMBA", raising=False)
    else:
        monkeypatch.setenv("BACKPROP_NO_NUMBA", "1")
    rng = np.random.default_rng(0)
    p = rng.standard_normal(n).astype(dtype)
    opt.threads = threads
    for t in range(5):
        g = (rng.standard_normal(n) * 10.0**-t).astype(dtype)
        g[: n // 10] = 0
        opt.step([p], [g], lr=1e-3)
    return [p, *(opt.slots[0][name] for name in opt.slot_names)]


RULES = {
    "adam": Adam,
    "adamw": lambda: AdamW(weight_decay=0.1),
    "momentum": lambda: Momentum(0.9),
    "nesterov": lambda: Nesterov(0.9),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", RULES)
@pytest.mark.parametrize("threads", [1, 2])
def test_a_fused_kernel_gives_the_numpy_rules_bits(dtype, name, threads, monkeypatch):
    n = 2 * fused.MIN_SIZE + 7  # large enough for the kernel, odd so the thread chunks differ in size
    reference = steps(RULES[name](), n, dtype, use_kernel=False, monkeypatch=monkeypatch, threads=threads)
    got = steps(RULES[name](), n, dtype, use_kernel=True, monkeypatch=monkeypatch, threads=threads)
    assert fused.kernel(RULES[name]().fused_kernel, *got[:1], *got) is not None  # the kernel did run
    for want, have in zip(reference, got):
        np.testing.assert_array_equal(have, want)


def test_small_or_strided_arrays_take_the_numpy_rule(monkeypatch):
    monkeypatch.delenv("BACKPROP_NO_NUMBA", raising=False)
    small = np.zeros(fused.MIN_SIZE - 1, dtype=np.float32)
    strided = np.zeros(2 * fused.MIN_SIZE, dtype=np.float32)[::2]
    assert fused.kernel("adam", small, small, small, small) is None
    assert fused.kernel("adam", strided, strided, strided, strided) is None
