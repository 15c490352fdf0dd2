"""The compiled softmax of attention (numba) against its NumPy rule, in float32 and float64: the same values
to a few units in the last place (the rows are summed in order, not pairwise), masked weights exactly 0."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.nn.attention.attention import Attention
from backprop_cli.nn.kernels import attention as ak

pytest.importorskip("numba")

DTYPES = [np.float32, np.float64]
SHAPES = [(1, 1, 1), (2, 3, 5), (3, 2, 9)]  # (N, H, L)
TOL = {np.float32: {"rtol": 2e-6, "atol": 1e-7}, np.float64: {"rtol": 1e-13, "atol": 1e-16}}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, h, steps", SHAPES)
@pytest.mark.parametrize("causal", [True, False])
def test_the_softmax_kernels_give_their_rules_values(rules_then_kernels, dtype, n, h, steps, causal, rng):
    scores = (4 * rng.standard_normal((n, h, steps, steps))).astype(dtype)
    dp = rng.standard_normal(scores.shape).astype(dtype)

    def run():
        p = ak.attention_weights(scores.copy(), 0.25, causal)
        return p, ak.attention_weights_backward(p, dp.copy(), 0.25, causal)

    (p0, ds0), (p1, ds1) = rules_then_kernels(run)
    assert p1.dtype == ds1.dtype == dtype
    np.testing.assert_allclose(p1, p0, **TOL[dtype])
    np.testing.assert_allclose(ds1, ds0, **TOL[dtype])
    np.testing.assert_allclose(p1.sum(axis=-1), 1.0, rtol=1e-5 if dtype == np.float32 else 1e-12)
    if causal:
        above = np.triu(np.ones((steps, steps), dtype=bool), k=1)
        assert not p1[..., above].any() and not ds1[..., above].any()  # exactly 0 where a key comes later


def test_a_nan_score_spreads_over_its_row_on_both_paths(rules_then_kernels, rng):
    scores = rng.standard_normal((1, 1, 4, 4))
    scores[0, 0, 2, 1] = np.nan
    p0, p1 = rules_then_kernels(lambda: ak.attention_weights(scores.copy(), 1.0, True))
    for p in (p0, p1):
        assert np.isnan(p[0, 0, 2, :3]).all() and not np.isnan(p[0, 0, [0, 1, 3]]).any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_attention_gives_the_same_values_through_both_paths_and_the_same_bits_run_to_run(
    rules_then_kernels, dtype, rng
):
    x = rng.standard_normal((3, 8, 6)).astype(dtype)
    dy = rng.standard_normal((3, 8, 6)).astype(dtype)

    def run():
        layer = Attention(heads=2)
        layer.build((8, 6), np.random.default_rng(0), dtype)
        y = layer.forward(x, training=True)
        return y.copy(), layer.backward(dy).copy(), layer.grads["Wq"].copy()

    (y0, dx0, g0), (y1, dx1, g1) = rules_then_kernels(run)
    for a, b in ((y0, y1), (dx0, dx1), (g0, g1)):
        np.testing.assert_allclose(
            b, a, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6 if dtype == np.float32 else 1e-14
        )
    again = run()
    for a, b in zip((y1, dx1, g1), again):
        np.testing.assert_array_equal(b, a)
