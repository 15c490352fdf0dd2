"""The model: one contiguous buffer for parameters and one for gradients, names, state, and shape arithmetic."""

from __future__ import annotations

import time

import numpy as np
import pytest

from backprop_cli.errors import CheckpointError
from backprop_cli.nn.losses import build_loss
from backprop_cli.nn.model import ALIGN_BYTES, Model, build_model, estimate_param_count
from backprop_cli.nn.registry import build_layers, validate_layer_spec

LAYERS = [
    {"type": "dense", "units": 6, "activation": "relu"},
    {"type": "batchnorm"},
    {"type": "dropout", "rate": 0.2},
    {"type": "residual", "layers": [{"type": "dense", "units": 4, "activation": "tanh"}]},
    {"type": "dense", "units": 3, "use_bias": False},
]


@pytest.fixture
def model(rng):
    return build_model(LAYERS, (5,), rng, np.float64)


def _train_step(model, rng):
    x, labels = rng.standard_normal((8, 5)), rng.integers(0, 3, 8)
    loss = build_loss("cross_entropy")
    loss.forward(model.forward(x, training=True), labels)
    model.backward(loss.backward())


def test_every_parameter_and_gradient_is_a_view_into_the_flat_buffers(model):
    for _, p, g in model.named_params():
        assert np.shares_memory(p, model.flat_params)
        assert np.shares_memory(g, model.flat_grads)
    assert model.flat_params.dtype == model.flat_grads.dtype == np.float64


def test_writing_the_flat_buffer_changes_the_layers_parameters(model):
    model.flat_params[...] = 0.5
    assert all(np.all(p == 0.5) for _, p, _ in model.named_params())


def test_backward_writes_the_gradients_into_the_flat_buffer(model, rng):
    _train_step(model, rng)
    total = sum(float(np.sum(np.abs(g))) for _, _, g in model.named_params())
    assert total > 0 and np.sum(np.abs(model.flat_grads)) == pytest.approx(total)


def test_the_weights_come_first_so_penalties_make_one_pass_over_a_prefix(model):
    weights = {"0.W", "3.0.W", "3.proj.W", "4.W"}
    for name, p, g in model.named_params():
        start = model.param_slices[name].start
        assert (start + p.size <= model.flat_weights.size) == (name in weights), name
        assert np.shares_memory(g, model.flat_weight_grads) == (name in weights)
    assert model.flat_weights.base is not None  # a view, not a copy


def test_each_parameter_starts_on_a_cache_line(model):
    for _, p, g in model.named_params():
        assert p.ctypes.data % ALIGN_BYTES == 0 and g.ctypes.data % ALIGN_BYTES == 0


def test_consolidation_keeps_the_initial_values():
    model = build_model(LAYERS, (5,), np.random.default_rng(7), np.float64)
    alone = Model(build_layers(LAYERS))  # the same layers built one by one, never moved into a buffer
    rng, shape = np.random.default_rng(7), (5,)
    for layer in alone.layers:
        shape = layer.build(shape, rng, np.float64)
    for (name, p, _), (_, q, _) in zip(model.named_params(), alone.named_params(), strict=True):
        np.testing.assert_array_equal(p, q, err_msg=name)
        assert not np.shares_memory(q, model.flat_params)


def test_names_follow_the_layer_tree(model):
    assert [name for name, _ in model.named_layers()] == ["0", "1", "2", "3", "3.0", "3.proj", "4"]
    assert [name for name, _, _ in model.named_params()] == [
        "0.W", "0.b", "1.gamma", "1.beta", "3.0.W", "3.0.b", "3.proj.W", "3.proj.b", "4.W",
    ]  # fmt: skip


def test_state_tensors_hold_parameters_and_running_statistics_but_only_parameters_train(model):
    tensors = model.state_tensors()
    assert {"1.running_mean", "1.running_var", "1.gamma", "0.W"} <= set(tensors)
    assert "1.running_mean" not in {name for name, _, _ in model.named_params()}


def test_loading_state_tensors_reproduces_the_models_predictions(model, rng):
    _train_step(model, rng)  # moves the running statistics away from their start
    saved = {k: v.copy() for k, v in model.state_tensors().items()}
    other = build_model(LAYERS, (5,), np.random.default_rng(99), np.float64)
    other.load_state_tensors(saved)
    x = rng.standard_normal((4, 5))
    np.testing.assert_array_equal(other.forward(x, training=False), model.forward(x, training=False))
    assert all(np.shares_memory(p, other.flat_params) for _, p, _ in other.named_params())  # copied in place


def test_loading_a_tensor_of_the_wrong_shape_names_it_and_both_shapes_and_changes_nothing(model, rng):
    saved = {k: v.copy() for k, v in model.state_tensors().items()}
    saved["0.b"] = np.ones(6)
    saved["4.W"] = np.zeros((5, 3))
    before = model.flat_params.copy()
    with pytest.raises(
        CheckpointError, match=r"tensor 'model\.4\.W' has shape \(5, 3\) in the checkpoint but \(4, 3\) in the model"
    ):
        model.load_state_tensors(saved)
    np.testing.assert_array_equal(model.flat_params, before)


def test_loading_names_a_missing_or_unknown_tensor(model):
    saved = dict(model.state_tensors())
    del saved["1.running_var"]
    with pytest.raises(CheckpointError, match="lacks tensor 'model.1.running_var'"):
        model.load_state_tensors(saved)
    saved = {**model.state_tensors(), "9.W": np.zeros(2)}
    with pytest.raises(CheckpointError, match="'model.9.W'"):
        model.load_state_tensors(saved)


@pytest.mark.parametrize(
    "layer_specs, input_shape",
    [
        (LAYERS, (5,)),
        ([{"type": "flatten"}, {"type": "dense", "units": 7}, {"type": "batchnorm"}], (2, 3, 4)),
        ([{"type": "batchnorm"}, {"type": "dense", "units": 2}], (3, 4, 4)),
        ([{"type": "residual", "layers": [{"type": "residual", "layers": [{"type": "dense", "units": 9}]}]}], (4,)),
    ],
)
def test_the_parameter_estimate_equals_what_build_allocates(layer_specs, input_shape, rng):
    model = build_model(layer_specs, input_shape, rng, np.float32)
    assert estimate_param_count(layer_specs, input_shape) == model.param_count
    resolved = [validate_layer_spec(spec).model_dump(mode="json") for spec in layer_specs]  # as a checkpoint has it
    assert estimate_param_count(resolved, input_shape, resolved=True) == model.param_count


def test_the_parameter_estimate_of_an_absurd_model_allocates_nothing():
    start = time.process_time()  # CPU seconds: a busy host stretches wall time only
    count = estimate_param_count([{"type": "dense", "units": 1_000_000}] * 3, (1_000_000,))
    assert count == 3 * (10**12 + 10**6)
    assert time.process_time() - start < 0.5


def test_summary_rows_give_name_type_output_shape_and_parameter_count(model):
    assert model.summary_rows() == [
        ("0", "dense(relu)", (6,), 5 * 6 + 6),
        ("1", "batchnorm", (6,), 12),
        ("2", "dropout", (6,), 0),
        ("3", "residual[dense(tanh)] + proj", (4,), (6 * 4 + 4) * 2),
        ("4", "dense", (3,), 4 * 3),
    ]
    assert sum(row[3] for row in model.summary_rows()) == model.param_count


def test_the_float32_path_stays_float32_end_to_end(rng):
    specs = [
        {"type": "batchnorm"},
        {"type": "flatten"},
        *[{"type": "dense", "units": 4, "activation": a} for a in ("relu", "leaky_relu", "elu", "gelu", "sigmoid")],
        {"type": "dropout", "rate": 0.3},
        {"type": "residual", "layers": [{"type": "dense", "units": 3, "activation": "tanh"}, {"type": "softmax"}]},
        {"type": "dense", "units": 2},
    ]
    model = build_model(specs, (2, 2, 2), rng, "float32")
    model.input_grad = True
    x = rng.standard_normal((6, 2, 2, 2))  # float64 data is cast once, at the model's door
    y = model.forward(x, training=True)
    loss = build_loss("cross_entropy")
    loss.forward(y, rng.integers(0, 2, 6))
    dx = model.backward(loss.backward())
    assert y.dtype == dx.dtype == model.flat_params.dtype == model.flat_grads.dtype == np.float32
    assert all(t.dtype == np.float32 for t in model.state_tensors().values())
    assert model.forward(x, training=False).dtype == np.float32


@pytest.mark.parametrize(
    "first", [[], [{"type": "flatten"}, {"type": "dropout", "rate": 0.5}]], ids=["dense", "flatten"]
)
def test_training_skips_the_input_gradient_without_changing_any_parameter_gradient(first, rng):
    layer_specs = [*first, {"type": "dense", "units": 5, "activation": "relu"}, {"type": "dense", "units": 3}]
    x, labels = rng.standard_normal((4, 2, 3)), rng.integers(0, 3, 4)
    grads = []
    for input_grad in (False, True):
        model = build_model(layer_specs, (2, 3), np.random.default_rng(3), np.float64)
        model.input_grad = input_grad
        loss = build_loss("cross_entropy")
        loss.forward(model.forward(x, training=True), labels)
        dx = model.backward(loss.backward())
        assert (dx is None) == (not input_grad)
        grads.append(model.flat_grads.copy())
    assert dx.shape == x.shape
    np.testing.assert_array_equal(*grads)
