"""The float32 tanh (kernels/fast_math.py): the compiled loop gives its NumPy rule's bits, in place and not,
on contiguous arrays and column blocks; it stays within 7 float32 ulps of tanh; float64 is NumPy's tanh."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.nn.kernels import fast_math

pytest.importorskip("numba")


def _inputs(rng) -> np.ndarray:
    """(4, 2500) float32: a grid over [-12, 12], normals, tiny values and the edge cases."""
    x = np.concatenate(
        [
            np.linspace(-12, 12, 5000, dtype=np.float32),
            (3 * rng.standard_normal(4000)).astype(np.float32),
            np.logspace(-12, 0, 991).astype(np.float32) * rng.choice([-1, 1], 991).astype(np.float32),
            np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 4e-4, -4e-4, 7.9988, 1e-45], dtype=np.float32),
        ]
    )
    return x[:10_000].reshape(4, 2500)


@pytest.fixture
def tanh32(monkeypatch):
    monkeypatch.delenv("BACKPROP_NO_NUMBA", raising=False)
    kernel = fast_math.tanh_function(np.float32)
    assert kernel is not fast_math.tanh32_rule, "numba is installed: the kernel must compile"
    return kernel


@pytest.mark.parametrize("layout", ["out", "in place", "column block in place", "column block out"])
def test_the_tanh_kernel_gives_its_numpy_rules_bits(tanh32, layout, rng):
    x = _inputs(rng)
    want = fast_math.tanh32_rule(x, np.empty_like(x))
    got = x.copy()
    if layout == "out":
        got = np.full_like(x, 7.0)
        tanh32(x, got)
    elif layout == "in place":
        tanh32(got)
    else:  # a block of columns, as a GRU's r and z: the other columns untouched
        block = got[:, 100:1300]
        tanh32(block) if layout.endswith("in place") else tanh32(x[:, 100:1300].copy(), block)
        np.testing.assert_array_equal(got[:, :100], x[:, :100])
        got, want = got[:, 100:1300], want[:, 100:1300]
    np.testing.assert_array_equal(got, want)


def test_the_float32_tanh_is_within_seven_ulps_of_tanh_and_keeps_nan(rng):
    x = _inputs(rng)
    got = fast_math.tanh32_rule(x, np.empty_like(x)).astype(np.float64)
    exact = np.tanh(x.astype(np.float64))
    finite = np.isfinite(x)
    ulp = np.spacing(np.abs(exact[finite]).astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(got[finite] - exact[finite]) / ulp) <= 7.0  # 6.7 at worst, every 3rd float32 in [4e-4, 12]
    assert np.isnan(got[np.isnan(x)]).all()
    assert got[x == np.inf].item() == pytest.approx(1.0, abs=4e-7)
    tiny = np.abs(x) < fast_math.TINY
    np.testing.assert_array_equal(got[tiny], x[tiny])  # tanh(x) rounds to x there: exact, signed zeros kept


def test_float64_keeps_numpys_exact_tanh(rng):
    x = rng.standard_normal((3, 7)) * 4
    out = np.empty_like(x)
    fast_math.tanh_function(np.float64)(x, out)
    np.testing.assert_array_equal(out, np.tanh(x))
