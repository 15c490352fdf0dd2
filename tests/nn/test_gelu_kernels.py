"""The compiled GELU kernels (numba) against their NumPy rules: the same bits in float32 and float64,
forward and backward, on odd shapes and on views the kernels leave to the rule."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.nn.core.activations import GELU
from backprop_cli.nn.kernels import gelu

pytest.importorskip("numba")


def _both_ways(rules_then_kernels, x, dy):
    """(y, dx) of GELU with the NumPy rules, then with the kernels."""

    def run():
        layer = GELU()
        y = layer.forward(x, training=True)
        return y, layer.backward(dy)

    return rules_then_kernels(run)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1,), (3, 5), (7, 13), (2, 3, 5)])
def test_gelu_kernels_give_their_numpy_rules_bits(monkeypatch, rules_then_kernels, dtype, shape, rng):
    monkeypatch.delenv("BACKPROP_NO_NUMBA", raising=False)
    assert gelu._kernels(), "numba is installed: the kernels must compile"
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    x.flat[0] = np.nan  # NaN passes through both paths alike
    dy = rng.standard_normal(shape).astype(dtype)
    (y0, dx0), (y1, dx1) = _both_ways(rules_then_kernels, x, dy)
    assert y1.dtype == dx1.dtype == dtype
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(dx1, dx0)


def test_a_strided_view_takes_the_rule_and_gives_the_same_values(rules_then_kernels, rng):
    x = rng.standard_normal((6, 8)).astype(np.float32)
    dy = rng.standard_normal((6, 8)).astype(np.float32)
    (y0, dx0), (y1, dx1) = _both_ways(rules_then_kernels, x[:, ::2], dy[:, ::2])  # not contiguous: the rule runs
    np.testing.assert_array_equal(y1, y0)
    (yc, dxc), _ = _both_ways(rules_then_kernels, np.ascontiguousarray(x[:, ::2]), np.ascontiguousarray(dy[:, ::2]))
    np.testing.assert_array_equal(y1, yc)
    np.testing.assert_array_equal(dx1, dxc)


def test_float64_gelu_is_the_tanh_forms_to_a_few_units_of_rounding(rng):
    """float64 reaches tanh through exp (kernels/gelu.py): y and dx are those of np.tanh's formula."""
    x = np.concatenate([np.linspace(-40, 40, 4001), 1e-3 * rng.standard_normal(500), [1e-300, -1e-300, 0.0],
                        [-1e3, 1e3, -1e200, 1e200, np.inf, -np.inf]])  # fmt: skip
    dy = rng.standard_normal(x.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        t = np.tanh(gelu.C * (x + gelu.A * (x * x * x)))
        y_ref = 0.5 * x * (1.0 + t)
        dx_ref = dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * gelu.C * (1.0 + gelu.K * x * x))
        y, t_exp = gelu.gelu_forward(x)
        dx = gelu.gelu_backward(dy, x, t_exp)
    finite = np.isfinite(y_ref)
    unit = np.finfo(np.float64).eps * np.maximum(1.0, np.abs(x[finite]))
    assert np.all(np.abs(y[finite] - y_ref[finite]) <= 4 * unit)
    np.testing.assert_array_equal(y[~finite], y_ref[~finite])  # ±inf and NaN where np.tanh's gives them
    small = finite & (np.abs(x) < 10)
    scale = np.abs(dy[small]) * (1 + np.abs(x[small]) * gelu.C * (1 + gelu.K * x[small] ** 2))
    assert np.all(np.abs(dx[small] - dx_ref[small]) <= 8 * np.finfo(np.float64).eps * scale)
    assert np.all(np.abs(t_exp) <= 1.0)
