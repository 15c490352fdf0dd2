"""Embedding, positional, layernorm, attention, per-step dense and a transformer: exact gradients and references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backprop_cli.errors import ConfigError, DataError
from backprop_cli.nn.attention.attention import Attention
from backprop_cli.nn.attention.embedding import Embedding, with_vocab_size
from backprop_cli.nn.attention.positional import Positional, sinusoids
from backprop_cli.nn.core.dense import Dense
from backprop_cli.nn.losses import SoftmaxCrossEntropy, build_loss
from backprop_cli.nn.model import build_model, estimate_param_count
from backprop_cli.nn.normalization.layernorm import LayerNorm
from tests.torch_recorded import case, recorded


def _built(layer, shape, rng):
    layer.build(shape, rng, np.float64)
    return layer


def test_embedding_looks_up_rows_into_features_by_steps(rng):
    layer = _built(Embedding(3, vocab_size=5), (4,), rng)
    ids = np.array([[0, 4, 4, 1]])
    y = layer.forward(ids.astype(float), training=False)
    assert y.shape == (1, 3, 4)
    np.testing.assert_array_equal(y[0].T, layer.params["W"][[0, 4, 4, 1]])


def test_embedding_backward_adds_up_the_gradients_of_a_repeated_id(rng):
    layer = _built(Embedding(2, vocab_size=4), (3,), rng)
    layer.forward(np.array([[2.0, 2.0, 0.0], [2.0, 1.0, 1.0]]), training=True)
    dy = np.arange(12.0).reshape(2, 2, 3)  # (N, dim, L)
    layer.backward(dy)
    dW = layer.grads["W"]
    np.testing.assert_array_equal(dW[2], dy[0, :, 0] + dy[0, :, 1] + dy[1, :, 0])
    np.testing.assert_array_equal(dW[1], dy[1, :, 1] + dy[1, :, 2])
    np.testing.assert_array_equal(dW[3], [0.0, 0.0])  # unused: no gradient


def test_embedding_with_repeated_ids_backpropagates_its_exact_gradient(rng, gradients_match):
    layer = _built(Embedding(3, vocab_size=4), (6,), rng)
    ids = np.array([[1, 1, 1, 3, 0, 1], [3, 3, 2, 2, 1, 1]], dtype=float)
    entries = gradients_match(layer, ids, rng)
    assert [e.name for e in entries] == ["W", "x"]


def test_an_id_outside_the_vocabulary_is_a_data_error_naming_it(rng):
    layer = _built(Embedding(2, vocab_size=4), (3,), rng)
    with pytest.raises(DataError, match=r"token id 4 at \(example, step\) \(1, 2\) is outside the vocabulary 0..3"):
        layer.forward(np.array([[0, 1, 2], [3, 3, 4]]), training=False)


def test_a_missing_vocab_size_is_filled_from_the_data_in_dicts_and_nested_blocks():
    specs = [{"type": "embedding", "dim": 4}, {"type": "residual", "layers": [{"type": "embedding", "dim": 2}]}]
    filled = with_vocab_size(specs, 9)
    assert filled[0]["vocab_size"] == 9 and filled[1]["layers"][0]["vocab_size"] == 9
    assert "vocab_size" not in specs[0]  # the caller's specs are left alone


def test_an_embedding_without_a_vocabulary_is_a_config_error(rng):
    with pytest.raises(ConfigError, match="vocab_size is not known"):
        Embedding(4).build((5,), rng, np.float64)


@pytest.mark.parametrize("kind", ["learned", "sinusoidal"])
@pytest.mark.parametrize("steps", [1, 5])
def test_positional_backpropagates_its_exact_gradient(kind, steps, rng, gradients_match):
    layer = _built(Positional(kind, max_length=7), (4, steps), rng)
    gradients_match(layer, rng.standard_normal((3, 4, steps)), rng)


def test_sinusoidal_positions_follow_the_transformer_paper():
    p = sinusoids(4, 3, np.float64)
    t = np.arange(3)
    np.testing.assert_allclose(p[0], np.sin(t))
    np.testing.assert_allclose(p[1], np.cos(t))
    np.testing.assert_allclose(p[2], np.sin(t / 100.0))  # 10000^(2/4)
    np.testing.assert_allclose(p[3], np.cos(t / 100.0))


def test_a_shorter_sequence_uses_the_first_positions_and_a_longer_one_is_refused(rng):
    layer = _built(Positional("learned"), (2, 4), rng)
    x = np.zeros((1, 2, 3))
    np.testing.assert_array_equal(layer.forward(x, training=False)[0], layer.params["P"][:, :3])
    with pytest.raises(DataError, match="5 steps is longer than the positional layer's max_length 4"):
        layer.forward(np.zeros((1, 2, 5)), training=False)


@pytest.mark.parametrize("shape", [(5,), (4, 1), (4, 6)])
def test_layernorm_backpropagates_its_exact_gradient(shape, rng, gradients_match):
    layer = _built(LayerNorm(), shape, rng)
    layer.params["gamma"][:] = rng.uniform(0.5, 2.0, shape[0])
    layer.params["beta"][:] = rng.standard_normal(shape[0])
    gradients_match(layer, 2.0 + 3.0 * rng.standard_normal((3, *shape)), rng)


def test_layernorm_normalizes_each_step_over_its_features(rng):
    layer = _built(LayerNorm(), (6, 3), rng)
    y = layer.forward(5.0 + 4.0 * rng.standard_normal((2, 6, 3)), training=True)
    np.testing.assert_allclose(y.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=1), 1.0, rtol=1e-4)


def _attention(heads, causal, steps, rng, dim=4, dropout=0.0):
    layer = _built(Attention(heads=heads, causal=causal, dropout=dropout), (dim, steps), rng)
    for key in ("bq", "bv", "bo"):
        layer.params[key][:] = 0.3 * rng.standard_normal(dim)  # nonzero biases: their gradients are checked too
    return layer


@pytest.mark.parametrize("heads", [1, 2, 4])
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("steps", [1, 5])
def test_attention_backpropagates_its_exact_gradient(heads, causal, steps, rng, gradients_match):
    layer = _attention(heads, causal, steps, rng)
    entries = gradients_match(layer, rng.standard_normal((2, 4, steps)), rng)
    assert [e.name for e in entries] == ["Wq", "Wk", "Wv", "Wo", "bq", "bv", "bo", "x"]


def test_attention_with_dropout_backpropagates_through_the_replayed_mask(rng, gradients_match):
    layer = _attention(2, True, 5, rng, dropout=0.3)
    gradients_match(layer, rng.standard_normal((2, 4, 5)), rng)


def _loop_reference(layer, x, causal):
    """The textbook equations, one example and one head at a time."""
    p = layer.params
    n, dim, steps = x.shape
    dh = dim // layer.heads
    out = np.empty((n, steps, dim))
    for i in range(n):
        xt = x[i].T  # (L, D)
        q, k, v = xt @ p["Wq"] + p["bq"], xt @ p["Wk"], xt @ p["Wv"] + p["bv"]
        heads = []
        for h in range(layer.heads):
            cols = slice(h * dh, (h + 1) * dh)
            s = q[:, cols] @ k[:, cols].T / math.sqrt(dh)
            if causal:
                s[np.triu_indices(steps, 1)] = -np.inf
            w = np.exp(s - s.max(axis=1, keepdims=True))
            heads.append((w / w.sum(axis=1, keepdims=True)) @ v[:, cols])
        out[i] = np.concatenate(heads, axis=1) @ p["Wo"] + p["bo"]
    return out.transpose(0, 2, 1)


@pytest.mark.parametrize("heads, causal", [(1, True), (3, True), (3, False)])
def test_attention_forward_equals_a_loop_over_examples_and_heads(heads, causal, rng):
    layer = _attention(heads, causal, 7, rng, dim=6)
    x = rng.standard_normal((3, 6, 7))
    np.testing.assert_allclose(layer.forward(x, training=False), _loop_reference(layer, x, causal), atol=1e-12)


def test_causal_attention_output_at_a_step_ignores_later_steps(rng):
    layer = _attention(2, True, 6, rng)
    x = rng.standard_normal((1, 4, 6))
    changed = x.copy()
    changed[:, :, 4:] += 10.0
    a, b = layer.forward(x, training=False), layer.forward(changed, training=False)
    np.testing.assert_allclose(a[:, :, :4], b[:, :, :4], atol=1e-12)
    assert not np.allclose(a[:, :, 4:], b[:, :, 4:])


@pytest.mark.parametrize("causal", [1, 0])
def test_attention_forward_equals_torch_scaled_dot_product_attention(causal):
    numbers = case(recorded("attention"), f"causal-{causal}")  # tests/fixtures/make_torch_fixtures.py
    layer = _built(Attention(heads=2, causal=bool(causal)), (6, 5), np.random.default_rng(0))
    for name in layer.params:
        layer.params[name][...] = numbers[name]
    np.testing.assert_allclose(layer.forward(numbers["x"], training=False), numbers["y"], atol=1e-12)


def test_attention_needs_features_divisible_by_its_heads(rng):
    with pytest.raises(ConfigError, match="3 heads needs features divisible by 3, but its input has 4"):
        Attention(heads=3).build((4, 5), rng, np.float64)


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
def test_sequence_layers_on_other_shapes_are_config_errors_naming_the_shape(shape, rng):
    with pytest.raises(ConfigError, match=r"needs sequences of shape \(features, steps\)"):
        Attention().build(shape, rng, np.float64)


def test_per_step_dense_applies_the_same_weights_at_every_step(rng):
    layer = _built(Dense(3, activation="tanh", per_step=True), (4, 5), rng)
    x = rng.standard_normal((2, 4, 5))
    y = layer.forward(x, training=False)
    assert y.shape == (2, 3, 5)
    for t in range(5):
        np.testing.assert_allclose(y[:, :, t], np.tanh(x[:, :, t] @ layer.params["W"] + layer.params["b"]))


@pytest.mark.parametrize("steps", [1, 5])
def test_per_step_dense_backpropagates_its_exact_gradient(steps, rng, gradients_match):
    layer = _built(Dense(3, activation="gelu", per_step=True), (4, steps), rng)
    gradients_match(layer, rng.standard_normal((2, 4, steps)), rng)


def block(dim: int, heads: int) -> list[dict]:
    """A pre-norm transformer block as configs/ writes it: two residuals."""
    return [
        {"type": "residual", "layers": [{"type": "layernorm"}, {"type": "attention", "heads": heads}]},
        {
            "type": "residual",
            "layers": [
                {"type": "layernorm"},
                {"type": "dense", "units": 4 * dim, "activation": "gelu", "per_step": True},
                {"type": "dense", "units": dim, "per_step": True},
            ],
        },
    ]


def transformer(vocab: int, dim: int = 4, heads: int = 2, blocks: int = 2) -> list[dict]:
    return [
        {"type": "embedding", "dim": dim},
        {"type": "positional", "kind": "learned"},
        *[layer for _ in range(blocks) for layer in block(dim, heads)],
        {"type": "layernorm"},
        {"type": "dense", "units": vocab, "per_step": True},
    ]


def test_a_two_block_transformer_backpropagates_the_exact_next_token_loss(rng, gradients_match):
    specs = with_vocab_size(transformer(vocab=5), 5)
    model = build_model(specs, (6,), rng, np.float64)
    for name, p, _ in model.named_params():  # a generic point: every path matters, nothing is tiny
        if name in ("0.W", "1.P"):
            p[...] = rng.standard_normal(p.shape)  # N(0, 0.02^2) at init: layernorm's curvature would
        elif not p.any():  # dominate the finite differences' truncation error
            p[...] = 0.1 * rng.standard_normal(p.shape)
    ids = rng.integers(0, 5, size=(3, 6)).astype(float)
    targets = rng.integers(0, 5, size=(3, 6))
    entries = gradients_match(model, ids, rng, loss=build_loss("cross_entropy"), target=targets)
    assert {e.name for e in entries} == {name for name, _, _ in model.named_params()} | {"x"}
    assert model.output_shape == (5, 6)
    assert estimate_param_count(specs, (6,)) == model.param_count


def test_sequence_cross_entropy_is_the_mean_over_every_token(rng):
    logits, labels = rng.standard_normal((2, 4, 3)), rng.integers(0, 4, (2, 3))
    steps = SoftmaxCrossEntropy()
    per_token = [SoftmaxCrossEntropy().forward(logits[:, :, t], labels[:, t]) for t in range(3)]
    assert steps.forward(logits, labels) == pytest.approx(np.mean(per_token))
    assert steps.backward().shape == logits.shape


def test_sequence_cross_entropy_backpropagates_its_exact_gradient(rng, gradients_match):
    from backprop_cli.nn.core.activations import Linear

    logits, labels = rng.standard_normal((3, 5, 4)), rng.integers(0, 5, (3, 4))
    gradients_match(Linear(), logits, rng, loss=build_loss("cross_entropy"), target=labels)


def test_sequence_cross_entropy_names_the_units_the_vocabulary_needs():
    with pytest.raises(ConfigError, match=r"units: 65, per_step: true"):
        SoftmaxCrossEntropy().check_output((60, 8), n_classes=65)
    SoftmaxCrossEntropy().check_output((65, 8), n_classes=65)


def test_each_new_layer_explains_itself_and_counts_its_flops(rng):
    layers = [
        (Embedding(4, vocab_size=7), (6,)),
        (Positional("learned"), (4, 6)),
        (LayerNorm(), (4, 6)),
        (Attention(heads=2), (4, 6)),
    ]
    for layer, shape in layers:
        layer.build(shape, rng, np.float64)
        text = layer.explain()
        assert text["forward"] and text["backward"] and all(isinstance(t, str) for t in text["forward"])
        forward, backward = layer.flops(3)
        assert isinstance(forward, int) and isinstance(backward, int) and forward >= 0 and backward >= 0
    attention = layers[3][0]
    # projections 4 * 2*N*L*D*D = 4*2*18*16, QKᵀ and P·V 2 * 2*N*L*L*D = 2*2*18*6*4, softmax 5*N*H*L*L = 5*3*2*36
    assert attention.flops(3)[0] == 2304 + 1728 + 1080
