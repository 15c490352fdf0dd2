"""The compiled LSTM/GRU step kernels (numba) against their NumPy rules, in float32 and float64, on odd
shapes: the same bits; and the layers through both paths: the same outputs and gradients, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.nn.kernels import recurrent as rk
from backprop_cli.nn.recurrent.gru import GRU
from backprop_cli.nn.recurrent.lstm import LSTM

numba = pytest.importorskip("numba")

DTYPES = [np.float32, np.float64]
SHAPES = [(1, 1), (3, 5), (7, 13)]  # (N, H)


@pytest.fixture
def kern(monkeypatch):
    monkeypatch.delenv("BACKPROP_NO_NUMBA", raising=False)
    found = rk.Steps(np.float32).k
    assert found is not rk.RULES, "numba is installed: the kernels must compile"
    return found


def _inputs(name, n, h, dtype, rng):
    """Arguments of piece `name`: gate values in (-1, 1) as σ/tanh give them, the rest standard normal;
    outputs filled with NaN (a kernel must write every entry); the constants in `dtype`."""
    g = {"lstm": 4, "gru": 3}[name.split("_")[0]]
    gates = lambda: rng.uniform(-1, 1, (n, g * h)).astype(dtype)  # noqa: E731
    wide = lambda: rng.standard_normal((n, g * h)).astype(dtype)  # noqa: E731
    row = lambda: rng.standard_normal((n, h)).astype(dtype)  # noqa: E731  (row()[0]: a bias (H,))
    out = lambda shape: np.full(shape, np.nan, dtype)  # noqa: E731
    one, half = dtype(1), dtype(0.5)
    return {
        "lstm_halve": lambda: (wide(), wide(), half),
        "lstm_cell": lambda: (gates(), row(), out((n, h)), one, half),
        "lstm_step_backward": lambda: (row(), row(), gates(), row(), row(), out((n, 4 * h)), one),
        "gru_halve": lambda: (wide(), wide(), wide(), half),
        "gru_candidate": lambda: (gates(), wide(), wide(), row()[0], out((n, h)), one, half),
        "gru_mix": lambda: (gates(), row(), out((n, h))),
        "gru_step_backward": lambda: (row(), gates(), row(), row(), out((n, 3 * h)), out((n, 3 * h)), out((n, h)), one),
    }[name]()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, h", SHAPES)
@pytest.mark.parametrize("name", sorted(rk.RULES))
def test_each_recurrent_kernel_gives_its_numpy_rules_bits(kern, name, dtype, n, h, rng):
    args = _inputs(name, n, h, dtype, rng)
    rule_args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    rk.RULES[name](*rule_args)
    kern[name](*args)
    for got, want in zip(args, rule_args):  # every array, inputs left alone and outputs written alike
        if isinstance(got, np.ndarray):
            assert got.dtype == dtype
            np.testing.assert_array_equal(got, want)


def _layer_both_ways(rules_then_kernels, cls, kwargs, x, dy):
    """(y, dx, grads) of the same layer with the NumPy rules, then with the kernels."""

    def run():
        layer = cls(**kwargs)
        layer.build(x.shape[1:], np.random.default_rng(0), x.dtype)
        y = layer.forward(x, training=True)
        dx = layer.backward(dy)
        return y, dx, {k: g.copy() for k, g in layer.grads.items()}

    return rules_then_kernels(run)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls", [LSTM, GRU])
@pytest.mark.parametrize("kwargs", [{"units": 5}, {"units": 3, "return_sequences": True, "bidirectional": True}])
def test_recurrent_layers_give_the_same_bits_with_and_without_kernels(rules_then_kernels, cls, kwargs, dtype, rng):
    x = rng.standard_normal((4, 3, 6)).astype(dtype)  # (N, C, L)
    d = 2 if kwargs.get("bidirectional") else 1
    out_shape = (4, d * kwargs["units"], 6) if kwargs.get("return_sequences") else (4, d * kwargs["units"])
    dy = rng.standard_normal(out_shape).astype(dtype)
    (y0, dx0, g0), (y1, dx1, g1) = _layer_both_ways(rules_then_kernels, cls, kwargs, x, dy)
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(dx1, dx0)
    assert g0.keys() == g1.keys()
    for key in g0:
        np.testing.assert_array_equal(g1[key], g0[key], err_msg=key)


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_the_kernel_path_gives_the_same_bits_run_to_run(kern, cls, rng):
    x = rng.standard_normal((5, 2, 7)).astype(np.float32)
    dy = rng.standard_normal((5, 4, 7)).astype(np.float32)
    runs = []
    for _ in range(2):
        layer = cls(units=4, return_sequences=True)
        layer.build((2, 7), np.random.default_rng(0), np.float32)
        runs.append((layer.forward(x, training=True), layer.backward(dy), layer.grads["U"].copy()))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def _run_layer(cls, x, dy):
    layer = cls(units=6, return_sequences=True, bidirectional=True)
    layer.build(x.shape[1:], np.random.default_rng(0), x.dtype)
    y = layer.forward(x, training=True)
    dx = layer.backward(dy)
    return y, dx, {k: v.copy() for k, v in layer.grads.items()}, layer.time_grad_norm


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_rows_split_over_threads_give_the_whole_batchs_values(monkeypatch, cls, dtype, rng):
    from backprop_cli.nn.recurrent import bptt

    x = rng.standard_normal((17, 3, 5)).astype(dtype)  # 17 rows: blocks of 8 and 9 on two threads
    dy = rng.standard_normal((17, 12, 5)).astype(dtype)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    y1, dx1, g1, norms1 = _run_layer(cls, x, dy)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    calls, real = [], bptt.bounds
    monkeypatch.setattr(bptt, "bounds", lambda n, parts: calls.append(parts) or real(n, parts))
    y2, dx2, g2, norms2 = _run_layer(cls, x, dy)
    assert 2 in calls  # the recurrence did run in two blocks
    np.testing.assert_array_equal(y2, y1)
    np.testing.assert_array_equal(dx2, dx1)
    for key in g1:
        np.testing.assert_array_equal(g2[key], g1[key], err_msg=key)
    assert norms2 == pytest.approx(norms1, rel=1e-6)  # a root of summed squares: the last bits may differ
