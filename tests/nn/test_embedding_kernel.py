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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_embedding_layer_gives_the_same_gradient_through_the_rule_and_the_kernel(
    monkeypatch, rules_then_kernels, dtype, rng
):
    from backprop_cli.nn.attention.embedding import Embedding

    ids = rng.integers(0, 4, (6, 11)).astype(dtype)  # 66 ids over 4 rows: each row sums many in order
    dy = rng.standard_normal((6, 5, 11)).astype(dtype)
    rule_calls, rule = [], embedding.scatter_add_rule
    monkeypatch.setattr(embedding, "scatter_add_rule", lambda *args: rule_calls.append(1) or rule(*args))

    def run():
        layer = Embedding(5, vocab_size=4)
        layer.build((11,), np.random.default_rng(0), dtype)
        layer.forward(ids, training=True)
        layer.backward(dy)
        return layer.grads["W"].copy(), len(rule_calls)

    (dW_rule, calls_rule), (dW_kernel, calls_kernel) = rules_then_kernels(run)
    assert (calls_rule, calls_kernel) == (1, 1)  # BACKPROP_NO_NUMBA=1 took the rule; numba on, the kernel
    assert dW_kernel.dtype == dtype
    np.testing.assert_array_equal(dW_kernel, dW_rule)
