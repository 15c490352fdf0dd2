"""Every registered layer type either exports to ONNX and computes what its forward computes, or is
refused by name: the table is tests/nn/layer_specs.py, so a new layer is covered the day it is registered."""

from __future__ import annotations

import numpy as np
import pytest

from tests.interop.helpers import needs_onnx  # noqa: E402

pytestmark = needs_onnx()  # onnx and onnxruntime (~1.3 s to import) are imported by the tests that run

from backprop_cli.data.scaling import Scaler  # noqa: E402
from backprop_cli.errors import UserError  # noqa: E402
from backprop_cli.inference import Trained  # noqa: E402
from backprop_cli.interop.onnx_export import export_onnx  # noqa: E402
from backprop_cli.interop.onnx_layers import EXPORTERS  # noqa: E402
from backprop_cli.nn.losses import build_loss  # noqa: E402
from backprop_cli.nn.model import build_model  # noqa: E402
from tests.nn.layer_specs import LAYER_SPECS, input_shape, spec_id  # noqa: E402

try:  # token ids for an embedding, where the layer table knows how to draw them
    from tests.nn.layer_specs import sample_input
except ImportError:
    sample_input = None


def randomized(model, rng) -> None:
    """Weights and running statistics away from their initial values, so that every term shows."""
    for _, layer in model.named_layers():
        for t in layer.params.values():
            t[...] = rng.normal(0.0, 0.5, t.shape)
        for key, t in layer.state.items():
            t[...] = rng.uniform(0.5, 2.0, t.shape) if key == "running_var" else rng.normal(0.0, 0.5, t.shape)


def trained(layers: list, shape: tuple, rng, loss="mse", classes=None, x_fit=None, target_scaler=None, dtype="float32",
            scale="standard"):  # fmt: skip
    """A Trained as load_trained returns it, for a network built here (no training needed)."""
    model = build_model(layers, shape, rng, dtype)
    randomized(model, rng)
    x_fit = rng.normal(3.0, 2.0, (20, *shape)) if x_fit is None else x_fit
    meta = {"format": 1, "source": "test", "task": "classification" if classes else "regression",
            "input_shape": list(shape), "feature_names": None, "class_names": classes, "target_names": None,
            "scaler": Scaler.fit(scale, x_fit).to_dict(), "target_scaler": target_scaler}  # fmt: skip
    config = {"model": {"layers": layers}, "loss": {"type": loss, "delta": 1.0}}
    return Trained(model, build_loss(loss), config, meta, "test.safetensors", 0, np.dtype(dtype))


def ours(t: Trained, x_raw: np.ndarray) -> np.ndarray:
    scaler = Scaler.from_dict(t.data_meta["scaler"])
    return t.model.forward(scaler.transform(x_raw, t.dtype), training=False)


def theirs(model, x_raw: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x_raw.astype(np.float32)})[0]


@pytest.mark.parametrize("spec", LAYER_SPECS, ids=spec_id)
def test_each_layer_type_exports_and_computes_its_forward_or_is_refused_by_name(spec, rng):
    shape = input_shape(spec)
    x = sample_input(spec, rng, 6) if sample_input else rng.normal(3.0, 2.0, (6, *shape))
    t = trained([spec], shape, rng, x_fit=x, scale="none" if spec["type"] == "embedding" else "standard")
    if spec["type"] not in EXPORTERS:
        with pytest.raises(UserError, match=rf"layer model\.0 \({spec['type']}\) has no ONNX export yet"):
            export_onnx(t)
        return
    np.testing.assert_allclose(theirs(export_onnx(t), x), ours(t, x), rtol=1e-4, atol=1e-5)


def test_a_layer_without_an_exporter_is_named_with_its_path_in_the_model(rng, monkeypatch):
    monkeypatch.delitem(EXPORTERS, "batchnorm")
    inner = {"type": "residual", "layers": [{"type": "dense", "units": 4}, {"type": "batchnorm"}]}
    t = trained([{"type": "dense", "units": 4}, inner], (3,), rng)
    with pytest.raises(UserError, match=r"layer model\.1\.1 \(batchnorm\) has no ONNX export yet") as info:
        export_onnx(t)
    assert "--format npz" in str(info.value)


def test_a_residual_projection_onto_images_is_reshaped_back(rng):
    block = {"type": "residual", "layers": [{"type": "conv2d", "filters": 3, "kernel_size": 3, "stride": 2}]}
    t = trained([block, {"type": "flatten"}], (2, 7, 7), rng)
    x = rng.normal(size=(4, 2, 7, 7))
    np.testing.assert_allclose(theirs(export_onnx(t), x), ours(t, x), rtol=1e-4, atol=1e-5)


def test_regression_outputs_values_in_the_targets_original_units(rng):
    target = Scaler(kind="standard", offset=np.array([100.0, -3.0]), scale=np.array([7.0, 0.5])).to_dict()
    t = trained([{"type": "dense", "units": 2}], (3,), rng, target_scaler=target)
    x = rng.normal(size=(5, 3))
    model = export_onnx(t)
    assert model.graph.output[0].name == "values"
    expected = Scaler.from_dict(target).inverse_transform(ours(t, x))
    np.testing.assert_allclose(theirs(model, x), expected, rtol=1e-5)
    with pytest.raises(UserError, match="--proba is for classifiers"):
        export_onnx(t, proba=True)


@pytest.mark.parametrize("loss, units", [("cross_entropy", 3), ("binary_cross_entropy", 1)])
def test_proba_applies_the_losss_link_as_predict_does(loss, units, rng):
    classes = ["a", "b", "c"][: max(units, 2)]
    t = trained([{"type": "dense", "units": 5, "activation": "relu"}, {"type": "dense", "units": units}], (4,), rng,
                loss=loss, classes=classes)  # fmt: skip
    x = rng.normal(size=(8, 4))
    np.testing.assert_allclose(theirs(export_onnx(t, proba=True), x), t.loss.link(ours(t, x)), atol=1e-6)
    np.testing.assert_allclose(theirs(export_onnx(t), x), ours(t, x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kernel, stride", [(2, 1), (4, 3), (3, 2)])
def test_same_padding_pads_the_bottom_and_right_as_our_conv_does(kernel, stride, rng):
    conv = {"type": "conv2d", "filters": 2, "kernel_size": kernel, "stride": stride, "padding": "same"}
    t = trained([conv], (1, 6, 7), rng)
    x = rng.normal(size=(3, 1, 6, 7))
    np.testing.assert_allclose(theirs(export_onnx(t), x), ours(t, x), rtol=1e-4, atol=1e-5)


def test_a_float64_model_exports_as_float32_within_float32_tolerance(rng):
    layers = [{"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "gelu"}, {"type": "batchnorm"},
              {"type": "flatten"}, {"type": "dense", "units": 3}]  # fmt: skip
    t = trained(layers, (2, 5, 5), rng, dtype="float64")
    x = rng.normal(3.0, 2.0, (5, 2, 5, 5))
    model = export_onnx(t)
    assert {init.data_type for init in model.graph.initializer if init.name.startswith("model.")} == {1}  # FLOAT
    np.testing.assert_allclose(theirs(model, x), ours(t, x), rtol=1e-4, atol=1e-5)
