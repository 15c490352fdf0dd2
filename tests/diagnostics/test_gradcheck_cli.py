"""`backprop gradcheck`: a table or one JSON object on stdout, exit 0 when every gradient agrees, 1 when not."""

from __future__ import annotations

import json

from tests.diagnostics.conftest import CONFIGS, TEST_CONFIGS, backprop

BREAK_RELU = (
    "from backprop_cli.nn.core.activations import ReLU\nReLU.backward = lambda self, dy: dy  # forgets the mask"
)


def test_json_reports_every_parameter_and_layer_input_of_the_zoo_below_1e_6():
    result = backprop("gradcheck", str(TEST_CONFIGS / "gradcheck-zoo.yaml"), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    entries = report["entries"]
    names = [e["name"] for e in entries]
    assert {"0.W", "1.gamma", "1.beta", "3.0.W", "3.1.b", "5.b"} <= set(names)
    assert {f"{i}.x" for i in range(6)} <= set(names)  # the input of every top-level layer
    for e in entries:
        assert {"name", "shape", "max_abs_error", "max_rel_error", "passed"} <= set(e)
        assert e["passed"] and e["max_rel_error"] < 1e-6, e
    assert report["passed"] and report["failed"] == []


def test_the_table_names_each_layer_its_tensors_and_a_verdict():
    result = backprop("gradcheck", str(CONFIGS / "quickstart.yaml"))
    assert result.returncode == 0, result.stderr
    for text in ("layer", "max rel error", "verdict", "dense(relu)", "dropout", "input (dx)", "64x64", "ok"):
        assert text in result.stdout, text
    assert result.stderr == ""


def test_a_broken_relu_backward_exits_1_naming_the_tensors_and_the_layer_to_look_at():
    result = backprop("gradcheck", str(CONFIGS / "quickstart.yaml"), "--json", code=BREAK_RELU)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert not report["passed"] and "0.W" in report["failed"]
    assert "gradient check failed for 0.W" in result.stderr
    assert "check the backward of layer 0 (dense(relu))" in result.stderr
    assert "Traceback" not in result.stderr


def test_samples_bounds_the_coordinates_checked_per_tensor():
    result = backprop("gradcheck", str(CONFIGS / "mnist-mlp.yaml"), "--json", "--samples", "5", "--rows", "4")
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)["entries"]
    assert max(e["n_checked"] for e in entries) == 5
    assert next(e for e in entries if e["name"] == "1.W")["shape"] == [784, 512]


def test_overrides_apply_and_a_config_error_exits_2():
    ok = backprop("gradcheck", str(CONFIGS / "xor.yaml"), "--json", "--set", "model.layers.0.units=3")
    assert ok.returncode == 0, ok.stderr
    assert next(e for e in json.loads(ok.stdout)["entries"] if e["name"] == "0.W")["shape"] == [2, 3]
    bad = backprop("gradcheck", str(CONFIGS / "xor.yaml"), "--set", "model.layers.0.units=-1")
    assert bad.returncode == 2
    assert "model.layers.0.units" in bad.stderr and "Traceback" not in bad.stderr
