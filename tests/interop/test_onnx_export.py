"""`backprop export --format onnx`: checked by onnx.checker, run by onnxruntime, equal to `backprop predict`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.interop.helpers import needs_onnx  # noqa: E402

pytestmark = needs_onnx()  # onnx and onnxruntime (~1.3 s to import) are imported by the tests that run

from .helpers import backprop, ok, predict_npy  # noqa: E402

ATOL = 2e-5  # float32: the runtime's kernels sum in another order than NumPy's


@pytest.fixture(scope="module", params=["mlp", "cnn"])
def exported(request, digits, digits_runs):
    """(run, logits model, probabilities model) of a network trained briefly on the digits."""
    tmp, run = digits[0], digits_runs[request.param]
    logits = ok(backprop("export", run))
    proba = ok(backprop("export", run, "--proba", "-o", tmp / f"{request.param}-proba.onnx"))
    import onnx

    return run, onnx.load(logits), onnx.load(proba)


def run_onnx(model, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x.astype(np.float32)})[0]


def test_the_exported_model_passes_the_full_onnx_checker(exported):
    import onnx

    _, logits, proba = exported
    for model in (logits, proba):
        onnx.checker.check_model(model, full_check=True)


def test_onnxruntime_gives_backprop_predicts_probabilities_and_labels_on_the_test_split(exported, digits):
    run, logits, proba = exported
    tmp, _, arrays = digits
    x_test = arrays["x_test"]  # raw pixels 0..16: the scaling is inside the graph
    expected = predict_npy(run, x_test, tmp, "--proba")
    np.testing.assert_allclose(run_onnx(proba, x_test), expected, atol=ATOL)
    labels = predict_npy(run, x_test, tmp)
    assert [str(i) for i in run_onnx(logits, x_test).argmax(axis=1)] == list(labels)
    assert np.mean(labels.astype(int) == arrays["y_test"]) > 0.6  # it learned something: the test can fail


def test_the_input_scaling_is_folded_in_as_the_first_nodes(exported):
    _, logits, _ = exported
    first, second = logits.graph.node[:2]
    assert (first.op_type, second.op_type) == ("Sub", "Div")
    assert first.input[0] == "input" and second.input[0] == first.output[0]


def test_the_batch_dimension_is_dynamic(exported, digits):
    _, logits, _ = exported
    x = digits[2]["x_test"]
    assert logits.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    assert logits.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "N"
    whole = run_onnx(logits, x[:7])
    np.testing.assert_allclose(run_onnx(logits, x[:1]), whole[:1], atol=ATOL)


def test_class_names_output_kind_and_resolved_config_are_in_the_metadata(exported):
    run, logits, proba = exported
    meta = {p.key: p.value for p in logits.metadata_props}
    assert json.loads(meta["class_names"]) == [str(d) for d in range(10)]
    assert meta["output"] == "logits" and logits.graph.output[0].name == "logits"
    assert {p.key: p.value for p in proba.metadata_props}["output"] == "probabilities"
    import yaml

    assert json.loads(meta["config"]) == yaml.safe_load((run / "config.yaml").read_text())


def test_dropout_is_removed_from_the_graph(exported):
    _, logits, _ = exported
    assert "Dropout" not in {n.op_type for n in logits.graph.node}


def test_export_of_a_missing_checkpoint_is_a_user_error(tmp_path):
    result = backprop("export", tmp_path / "nothing")
    assert result.returncode == 2
    assert "no such checkpoint or run directory" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()


def test_proba_is_refused_for_npz(exported):
    run, _, _ = exported
    result = backprop("export", run, "--format", "npz", "--proba")
    assert result.returncode == 2 and "--proba applies to ONNX graphs only" in result.stderr.decode()


def test_an_output_path_in_a_missing_folder_is_a_user_error(exported, tmp_path):
    run, _, _ = exported
    result = backprop("export", run, "-o", tmp_path / "no" / "such" / "model.onnx")
    assert result.returncode == 2
    assert "model.onnx: no such directory:" in result.stderr.decode() and "create it" in result.stderr.decode()
