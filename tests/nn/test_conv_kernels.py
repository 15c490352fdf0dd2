"""The compiled conv/pool kernels (numba) against their NumPy rules, in float32 and float64, on odd shapes;
and conv2d/maxpool2d through both paths: the same outputs and gradients."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.nn.conv.conv2d import Conv2D
from backprop_cli.nn.conv.windows import window_geometry
from backprop_cli.nn.kernels import conv as conv_kernels
from backprop_cli.nn.pooling.pool2d import MaxPool2D

pytest.importorskip("numba")

DTYPES = [np.float32, np.float64]
# (C, H, W, N, k, stride, padding): stride 2, padding "same" (odd pixel after), 1x1 kernels, batch 1
GEOMETRIES = [
    (3, 7, 6, 1, 3, 2, "same"),
    (2, 5, 5, 3, 1, 1, 0),
    (1, 9, 8, 2, 5, 1, 2),
    (4, 6, 7, 1, 2, 2, "same"),
    (2, 8, 8, 5, 3, 1, 1),
    (1, 4, 4, 1, 1, 2, 0),
]


@pytest.fixture
def kern(monkeypatch):
    monkeypatch.delenv("BACKPROP_NO_NUMBA", raising=False)
    found = conv_kernels.kernels()
    assert found, "numba is installed: the kernels must compile"
    return found


def _geometry(c, h, w, k, s, padding):
    (top, bottom, left, right), (oh, ow) = window_geometry((c, h, w), k, s, padding, "conv2d")
    return top, bottom, left, right, oh, ow


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c, h, w, n, k, s, padding", GEOMETRIES)
@pytest.mark.parametrize("i0, rows", [(0, None), (1, 1)], ids=["all-rows", "one-block"])
def test_im2col_and_col2im_kernels_give_their_numpy_rules_bits(kern, dtype, c, h, w, n, k, s, padding, i0, rows, rng):
    top, bottom, left, right, oh, ow = _geometry(c, h, w, k, s, padding)
    i0 = min(i0, oh - 1)
    rows = oh - i0 if rows is None else rows
    x = rng.standard_normal((c, h, w, n)).astype(dtype)
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    want, got = (np.full((c, k, k, rows, ow, n), np.nan, dtype=dtype) for _ in range(2))
    conv_kernels.im2col_rule(xp, want, k, s, 0, 0, i0)
    kern["im2col"](x, got, k, s, top, left, i0)
    np.testing.assert_array_equal(got, want)

    dcols = rng.standard_normal(want.shape).astype(dtype)
    dxp = np.zeros_like(xp)
    conv_kernels.col2im_rule(dcols, dxp, k, s, 0, 0, i0)
    dx = np.zeros_like(x)
    kern["col2im"](dcols, dx, k, s, top, left, i0)
    np.testing.assert_array_equal(dx, dxp[:, top : top + h, left : left + w])
    assert dx.dtype == dtype


def _pool_both_ways(rules_then_kernels, k, s, x, dy):
    """(y, dx) of MaxPool2D through the NumPy rule, then through the kernel."""

    def run():
        layer = MaxPool2D(k, s)
        layer.build(x.shape[1:], None, x.dtype)
        y = layer.forward(x, training=True)
        return y, layer.backward(dy(y.shape))

    return rules_then_kernels(run)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k, s", [(2, None), (2, 1), (3, 2), (3, None), (1, 1), (2, 3)])
@pytest.mark.parametrize("n", [1, 3])
def test_maxpool_kernel_gives_the_numpy_rules_maximum_and_gradient(rules_then_kernels, dtype, k, s, n, rng):
    x = rng.standard_normal((n, 2, 7, 6)).astype(dtype)
    x[0, 0, :2, :2] = 1.5  # a tie: the first maximum in row-major order takes the gradient
    x = x.transpose(0, 1, 3, 2).copy().transpose(0, 1, 3, 2)  # an odd memory layout, as after a transpose
    drawn = {}  # one dy for both paths

    def dy(shape):
        return drawn.setdefault(shape, rng.standard_normal(shape).astype(dtype))

    (y_rule, dx_rule), (y_kern, dx_kern) = _pool_both_ways(rules_then_kernels, k, s, x, dy)
    np.testing.assert_array_equal(y_kern, y_rule)
    np.testing.assert_array_equal(dx_kern, dx_rule)  # bit-equal: overlapping windows add in the same order
    assert y_kern.dtype == dx_kern.dtype == dtype


def test_maxpool_kernel_records_the_argmax_once_in_forward(kern, rng):
    layer = MaxPool2D(2)
    layer.build((1, 2, 2), None, np.float64)
    layer.forward(np.array([[[[2.0, 4.0], [4.0, 1.0]]]]), training=True)
    assert layer._arg.dtype == np.int32 and layer._arg.ravel().tolist() == [1]  # offset (0, 1): the first 4


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_bias_relu_kernel_gives_the_numpy_bits(kern, dtype, rng):
    z = rng.standard_normal((5, 37)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    want = np.maximum(z + b[:, None], 0)
    got = z.copy()
    kern["bias_relu"](got, b)
    np.testing.assert_array_equal(got, want)


def _conv_both_ways(monkeypatch, rules_then_kernels, layer_args, x, dy, block_bytes=None):
    from backprop_cli.nn.conv import conv2d as conv

    if block_bytes:
        monkeypatch.setattr(conv, "BLOCK_BYTES", block_bytes)

    def run():
        layer = Conv2D(*layer_args[:2], **layer_args[2])
        layer.build(x.shape[1:], np.random.default_rng(3), x.dtype)
        layer.params["b"][:] = 0.1
        y = layer.forward(x, training=True)
        dx = layer.backward(dy)
        return y.copy(), dx.copy(), {k: g.copy() for k, g in layer.grads.items()}

    return rules_then_kernels(run)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["relu", "tanh", None])
@pytest.mark.parametrize("c, h, w, n, k, s, padding", GEOMETRIES)
def test_conv2d_gives_the_same_outputs_and_gradients_with_and_without_kernels(
    monkeypatch, rules_then_kernels, dtype, activation, c, h, w, n, k, s, padding, rng
):
    f = 3
    _, _, _, _, oh, ow = _geometry(c, h, w, k, s, padding)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    dy = rng.standard_normal((n, f, oh, ow)).astype(dtype)
    args = (f, k, {"stride": s, "padding": padding, "activation": activation})
    # a tiny block size: several row blocks, so dW is summed over blocks on both paths
    (y0, dx0, g0), (y1, dx1, g1) = _conv_both_ways(monkeypatch, rules_then_kernels, args, x, dy, block_bytes=64)
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(dx1, dx0)
    for key in g0:
        np.testing.assert_array_equal(g1[key], g0[key])


def test_conv2d_keeps_its_cols_workspace_small_at_the_evaluation_batch(rng):
    """The LeNet's second conv at batch 1024: whole cols would be 642 MB; a block is a few MB."""
    from backprop_cli.nn.conv.conv2d import BLOCK_BYTES

    layer = Conv2D(64, 5, padding=2)
    layer.build((32, 14, 14), rng, np.float32)
    layer.forward(np.zeros((1024, 32, 14, 14), np.float32), training=False)
    row_bytes = 32 * 25 * 14 * 1024 * 4  # one output row of cols: the smallest block
    assert layer._ws.nbytes <= max(BLOCK_BYTES, row_bytes)


def _conv_pool_step(x, dy_seed):
    """y, dx and dW of conv2d(relu) -> maxpool2d on x, through the kernels."""
    conv, pool = Conv2D(4, 3, padding=1, activation="relu"), MaxPool2D(2)
    pool.build(conv.build(x.shape[1:], np.random.default_rng(3), x.dtype), None, x.dtype)
    y = pool.forward(conv.forward(x, training=True), training=True)
    dx = conv.backward(pool.backward(np.random.default_rng(dy_seed).standard_normal(y.shape).astype(x.dtype)))
    return y.copy(), dx.copy(), conv.grads["W"].copy()


@pytest.mark.parametrize("threads", ["2", "3"])
def test_kernels_split_over_threads_give_one_threads_bits(kern, monkeypatch, threads, rng):
    from backprop_cli.nn.kernels import threads as kernel_threads

    x = rng.standard_normal((3, 5, 8, 6)).astype(np.float32)  # 5 channels: parts of 2 and 3, or 1, 2 and 2
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    whole = _conv_pool_step(x, 7)
    monkeypatch.setenv("OMP_NUM_THREADS", threads)
    monkeypatch.setattr(kernel_threads, "MIN_BYTES", 1)  # split even these small arrays
    calls, real = [], kernel_threads.bounds
    monkeypatch.setattr(kernel_threads, "bounds", lambda n, parts: calls.append(parts) or real(n, parts))
    split = _conv_pool_step(x, 7)
    assert calls and max(calls) == int(threads)  # the kernels did run in parts
    for a, b in zip(whole, split):
        np.testing.assert_array_equal(b, a)
