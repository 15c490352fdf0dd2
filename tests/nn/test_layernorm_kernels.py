"""LayerNorm through its compiled row kernels (numba) against its NumPy rule, float32 and float64: the same
values to a few units in the last place (features summed in order, not pairwise), in every input layout."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.nn.normalization.layernorm import LayerNorm

pytest.importorskip("numba")

TOL = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-13}}
LAYOUTS = {
    "(N, C)": lambda x: x.reshape(x.shape[0], -1),
    "(N, C, L) held as (N, L, C)": lambda x: np.ascontiguousarray(x.transpose(0, 2, 1)).transpose(0, 2, 1),
    "(N, C, L) C-ordered": lambda x: x,
}


def _run(x, dy):
    layer = LayerNorm()
    layer.build(x.shape[1:], None, x.dtype)
    layer.params["gamma"][:] = np.linspace(0.5, 1.5, x.shape[1])
    layer.params["beta"][:] = 0.1
    y = layer.forward(x, training=True)
    dx = layer.backward(dy)
    return y, dx, layer.grads["gamma"].copy(), layer.grads["beta"].copy(), layer._kern is not None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_layernorm_kernels_give_the_rules_values(rules_then_kernels, dtype, layout, rng):
    shape = (5, 7) if layout == "(N, C)" else (4, 6, 5)
    x = LAYOUTS[layout]((3 * rng.standard_normal(shape) + 1).astype(dtype))
    dy = rng.standard_normal(shape).astype(dtype)
    (*want, rule_used_kernel), (*got, used_kernel) = rules_then_kernels(lambda: _run(x, dy))
    assert used_kernel and not rule_used_kernel
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == dtype
        np.testing.assert_allclose(g, w, **TOL[dtype])
