"""The plan of a network: shapes and sizes from the estimates, and each layer against the data's meaning.

A layer class declares when its output at step t reads input steps after t (`reads_later_steps`); the
declarations are held to what the built layers do, for the whole registry, by perturbing one step at a time.
"""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.errors import ConfigError
from backprop_cli.nn.losses import build_loss
from backprop_cli.nn.plan import Facts, plan_network
from backprop_cli.nn.registry import build_layer

from .layer_specs import LAYER_SPECS, VOCAB, spec_id

STEPS = 6
TEXT = Facts((STEPS,), "classification", VOCAB, (STEPS,), VOCAB, next_token=True)


def _sequence_input(spec: dict) -> tuple[int, ...]:
    return (STEPS,) if spec["type"] == "embedding" else (4, STEPS)


def _reads_later_steps(layer, shape: tuple[int, ...], rng) -> bool:
    """Whether some output step t changes when only an input step after t does (inference mode)."""
    x = rng.integers(0, VOCAB, (2, *shape)).astype(float) if len(shape) == 1 else rng.standard_normal((2, *shape))
    y = layer.forward(x, training=False).copy()
    if y.ndim < 2 or y.shape[-1] != STEPS:
        return True  # the steps are gone (pooled, flattened, one state): no output step stands for step t
    for t in range(1, STEPS):
        nudged = x.copy()
        nudged[..., t] = (nudged[..., t] + 1) % VOCAB if len(shape) == 1 else nudged[..., t] + 1.0
        if not np.allclose(layer.forward(nudged, training=False)[..., :t], y[..., :t], rtol=0, atol=1e-12):
            return True
    return False


def _plans_on_sequences(spec) -> bool:
    """A layer this test can judge: not a user's (its code declares nothing of ours), and one that takes a
    sequence input."""
    if spec["type"] == "plugin":
        return False
    try:
        plan_network([spec], Facts(_sequence_input(spec)), meaning=False)
    except ConfigError:
        return False
    return True


SEQUENCE_SPECS = [spec for spec in LAYER_SPECS if _plans_on_sequences(spec)]


def test_the_sequence_layers_are_all_judged():
    assert {"rnn", "lstm", "gru", "attention", "conv1d", "embedding"} <= {spec["type"] for spec in SEQUENCE_SPECS}


@pytest.mark.parametrize("spec", SEQUENCE_SPECS, ids=spec_id)
def test_each_layer_declares_exactly_when_it_reads_later_steps(spec, rng):
    shape = _sequence_input(spec)
    plan = plan_network([spec], Facts(shape), meaning=False)
    declared = any(s.cls.reads_later_steps(s.spec, s.input_shape) for s in plan.steps)
    layer = build_layer(spec)
    layer.build(shape, rng, np.float64)
    assert declared == _reads_later_steps(layer, shape, rng)


def transformer(causal: bool = True) -> list[dict]:
    attention = {"type": "attention", "heads": 2, "causal": causal}
    return [
        {"type": "embedding", "dim": 4},
        {"type": "residual", "layers": [{"type": "layernorm"}, attention]},
        {"type": "dense", "units": VOCAB, "per_step": True},
    ]


def test_a_causal_language_model_plans_with_the_texts_vocabulary():
    plan = plan_network(transformer(), TEXT, loss=build_loss("cross_entropy"))
    assert plan.output_shape == (VOCAB, STEPS) and plan.layers[0].vocab_size == VOCAB
    assert plan.n_params == plan.build(np.random.default_rng(0)).param_count


@pytest.mark.parametrize(
    "layers, where, why",
    [
        (transformer(causal=False), "model.layers.1.layers.1", "with causal: false each step attends"),
        (
            [{"type": "embedding", "dim": 4}, {"type": "lstm", "units": 3, "return_sequences": True,
                                               "bidirectional": True}, {"type": "dense", "units": VOCAB,
                                                                        "per_step": True}],
            "model.layers.1",
            "bidirectional: true adds a pass from the last step back to the first",
        ),
        (
            [{"type": "embedding", "dim": 4}, {"type": "conv1d", "filters": 4, "kernel_size": 3, "padding": "same"},
             {"type": "dense", "units": VOCAB, "per_step": True}],
            "model.layers.1",
            "windows of 3 steps",
        ),
    ],
)  # fmt: skip
def test_a_next_token_model_whose_layer_can_read_the_answer_is_refused_naming_the_layer(layers, where, why):
    with pytest.raises(ConfigError) as info:
        plan_network(layers, TEXT, loss=build_loss("cross_entropy"))
    assert info.value.where == where and why in info.value.what and "causal: true" in info.value.fix


def test_the_same_layers_are_fine_when_the_targets_are_not_the_next_token():
    labels = Facts((STEPS,), "classification", 2, (), VOCAB, next_token=False)
    layers = [{"type": "embedding", "dim": 4}, {"type": "lstm", "units": 3, "bidirectional": True},
              {"type": "dense", "units": 2}]  # fmt: skip
    assert plan_network(layers, labels, loss=build_loss("cross_entropy")).output_shape == (2,)


def test_an_embedding_after_another_layer_is_refused_wherever_it_is():
    layers = [{"type": "reshape", "shape": [STEPS]}, {"type": "embedding", "dim": 4, "vocab_size": VOCAB}]
    with pytest.raises(ConfigError) as info:
        plan_network(layers, Facts((STEPS,)))
    assert info.value.where == "model.layers.1" and "must be the model's first layer" in info.value.what
    nested = [{"type": "residual", "layers": [{"type": "embedding", "dim": 4, "vocab_size": VOCAB}]}]
    with pytest.raises(ConfigError, match="first layer") as info:
        plan_network(nested, Facts((STEPS,)))
    assert info.value.where == "model.layers.0.layers.0"


def test_a_shape_error_inside_a_block_names_the_inner_layer():
    layers = [{"type": "residual", "layers": [{"type": "dense", "units": 3}, {"type": "maxpool2d"}]}]
    with pytest.raises(ConfigError, match=r"needs images of shape \(C, H, W\)") as info:
        plan_network(layers, Facts((5,)))
    assert info.value.where == "model.layers.0.layers.1"


def test_a_model_too_large_for_memory_is_refused_from_its_plan():
    with pytest.raises(ConfigError, match="parameters and would need about") as info:
        plan_network([{"type": "dense", "units": 1_000_000}] * 3, Facts((1_000_000,)))
    assert info.value.where == "model.layers"
