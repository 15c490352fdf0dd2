"""The embedding's scatter-add kernel (numba) against np.add.at: the same bits, repeated ids included."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.nn.kernels import embedding

pytest.importorskip("numba")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "steps first"])
def test_the_scatter_add_kernel_gives_np_add_at_bits(monkeypatch, dtype, layout, rng):
    monkeypatch.delenv("BACKPROP_NO_NUMBA", raising=False)
    ids = rng.integers(0, 5, (7, 9))  # 63 ids over 5 rows: every row collects many, in order
    dy = rng.standard_normal((7, 3, 9)).astype(dtype)
    if layout == "steps first":
        dy = np.ascontiguousarray(dy.transpose(0, 2, 1)).transpose(0, 2, 1)
    want, got = np.zeros((5, 3), dtype), np.zeros((5, 3), dtype)
    embedding.scatter_add_rule(want, ids, dy)
    embedding.scatter_add(got, ids, dy)
    np.testing.assert_array_equal(got, want)
    assert embedding.compiled("embedding", embedding._build)["scatter_add"].signatures  # the kernel ran
