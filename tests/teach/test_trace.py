"""`backprop trace`: the textbook's worked example number for number, summaries said aloud, bad values refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from .conftest import CONFIGS, backprop, err, out

WORKED = str(CONFIGS / "worked-example.yaml")
TOL = 1e-8  # the textbook prints 8 to 9 digits


@pytest.fixture(scope="module")
def worked():
    result = backprop("trace", WORKED, "--json")
    assert result.returncode == 0, err(result)
    assert err(result) == ""  # nothing summarised, nothing capped
    return json.loads(out(result))


def test_the_forward_pass_and_the_error_equal_the_hand_worked_values(worked):
    step = worked["steps"][0]
    hidden, output = step["forward"]
    assert hidden["y"]["values"][0] == pytest.approx([0.593269992, 0.596884378], abs=TOL)
    assert output["y"]["values"][0] == pytest.approx([0.75136507, 0.772928465], abs=TOL)
    assert step["loss"] == pytest.approx(0.298371109, abs=TOL)  # MSE over 2 outputs = ½·Σ(target − out)²


def test_the_gradients_and_the_updated_weights_equal_the_hand_worked_values(worked):
    step = worked["steps"][0]
    out_layer = step["backward"][0]
    assert out_layer["name"] == "1"
    assert out_layer["grads"]["W"]["values"][0][0] == pytest.approx(0.082167041, abs=TOL)  # dE/dw5
    after = {p["name"]: p["after"]["values"] for p in step["params"]}
    # W is (inputs, units): w5 = W[0][0], w6 = W[1][0], w7 = W[0][1], w8 = W[1][1] (w1..w4 alike)
    (w5, w7), (w6, w8) = after["1.W"]
    (w1, w3), (w2, w4) = after["0.W"]
    assert [w5, w6, w7, w8] == pytest.approx([0.35891648, 0.408666186, 0.511301270, 0.561370121], abs=TOL)
    assert [w1, w2, w3, w4] == pytest.approx([0.149780716, 0.19956143, 0.24975114, 0.29950229], abs=TOL)
    assert after["0.b"] != [0.35, 0.35]  # the textbook keeps biases fixed; training updates them


def test_every_gradient_on_the_way_back_is_shown_and_chains(worked):
    step = worked["steps"][0]
    out_layer, hidden = step["backward"]
    assert step["dL_dpred"] == out_layer["dy"]
    assert hidden["dy"] == out_layer["dx"]  # the chain rule: what one layer passes on, the next receives
    assert set(out_layer) >= {"dy", "dz", "grads", "dx"} and hidden["dx"] is not None  # even the first layer's dx


def test_the_text_walks_forward_then_backward_then_the_update():
    result = backprop("trace", WORKED, "--precision", "9")
    assert result.returncode == 0, err(result)
    text = out(result)
    at = 0
    for piece in ("FORWARD", "y = [[0.593269992, 0.596884378]]", "L = 0.298371109", "BACKWARD",
                  "dW = [[0.0821670406", "UPDATE", "after  = [[0.35891648, 0.51130127]"):  # fmt: skip
        at = text.find(piece, at)
        assert at >= 0, f"{piece!r} missing or out of order"


def test_two_steps_on_a_larger_network_say_what_is_summarised(tmp_path):
    result = backprop("trace", str(CONFIGS / "digits-cnn.yaml"), "--steps", "2", "--json")
    assert result.returncode == 0, err(result)
    trace = json.loads(out(result))
    assert [s["step"] for s in trace["steps"]] == [1, 2]
    assert trace["rows"] == 4 and trace["rows_capped"]
    conv_out = trace["steps"][0]["forward"][0]["y"]
    assert conv_out["shape"] == [4, 16, 8, 8] and {"first", "norm", "min", "max"} <= set(conv_out)
    assert "values" not in conv_out
    note = err(result)
    assert "traced the first 4 rows of the configured batch of 64" in note
    assert "are summarised as shape, first entries, norm" in note and "0.y (4, 16, 8, 8)" in note
    assert "--full prints them whole" in note


def test_full_prints_a_large_tensor_whole():
    result = backprop("trace", str(CONFIGS / "digits-cnn.yaml"), "--rows", "1", "--full", "--json")
    assert result.returncode == 0, err(result)
    conv_out = json.loads(out(result))["steps"][0]["forward"][0]["y"]
    assert len(conv_out["values"][0]) == 16 and err(result) == ""


def test_initial_values_of_the_wrong_shape_are_a_config_error_naming_the_layer_and_both_shapes():
    result = backprop("trace", WORKED, "--set", "model.layers.1.init={values: [[0.4, 0.5, 0.6], [0.45, 0.55, 0.65]]}")
    assert result.returncode == 2
    message = err(result)
    assert "model.layers.1" in message and "Traceback" not in message
    assert "init.values has shape (2, 3), but W of this dense layer has shape (2, 2)" in message
    assert message.count("\n") == 1  # one message


@pytest.mark.parametrize(
    "value, problem",
    [
        ("{values: [[1, 2], [3]]}", "rows of equal length"),
        ("{values: [[1, x], [3, 4]]}", "must be a number"),
        ("{valeus: [[1, 2], [3, 4]]}", "did you mean 'values'"),
    ],
)
def test_malformed_initial_values_are_config_errors(value, problem):
    result = backprop("config", "validate", WORKED, "--set", f"model.layers.0.init={value}")
    assert result.returncode == 2
    assert "model.layers.0.init" in err(result) and problem in err(result)


def test_a_bias_of_the_wrong_length_is_a_config_error():
    result = backprop("trace", WORKED, "--set", "model.layers.0.bias_init={values: [0.35]}")
    assert result.returncode == 2
    assert "bias_init.values has shape (1,), but b of this dense layer has shape (2,)" in err(result)


def test_watching_a_model_leaves_its_layers_as_they_were():
    import numpy as np

    from backprop_cli.nn.model import build_model
    from backprop_cli.teach.hooks import recording

    model = build_model([{"type": "dense", "units": 3, "activation": "tanh"}, {"type": "relu"}], (2,),
                        np.random.default_rng(0), "float64")  # fmt: skip
    custom = model.layers[1].backward = lambda dy: dy  # set on the instance before, as a test might
    with recording(model) as records:
        model.forward(np.ones((4, 2)), training=True)
    assert records["0.act"].x.shape == (4, 3) and records["1"].y.shape == (4, 3)
    assert "forward" not in vars(model.layers[0]) and "forward" not in vars(model.layers[0].act)
    assert model.layers[1].backward is custom and "forward" not in vars(model.layers[1])


def test_on_a_terminal_each_layer_of_the_trace_is_a_rich_panel(worked, capsys):
    from backprop_cli.cli.sections import print_blocks
    from backprop_cli.cli.trace import blocks

    print_blocks(blocks(worked, 9), rich=True)
    text = capsys.readouterr().out
    assert "╭─ [1] dense(sigmoid)" in text and "0.0821670406" in text


def test_a_diverging_step_is_shown_then_reported_with_exit_1():
    args = ("trace", str(CONFIGS / "divergence.yaml"), "--steps", "6", "--set", "optimizer.lr=1e12", "--json")
    result = backprop(*args)
    assert result.returncode == 1
    trace = json.loads(out(result))
    assert trace["diverged"] and trace["steps"][-1]["loss"] is None  # non-finite: null in JSON
    assert f"non-finite at step {len(trace['steps'])}" in err(result)
    assert "RuntimeWarning" not in err(result) and "Traceback" not in err(result)


def test_asking_for_more_rows_than_the_data_has_is_announced(tmp_path):
    config = tmp_path / "xor12.yaml"
    layers = "    - {type: dense, units: 3, activation: tanh}\n    - {type: dense, units: 2}\n"
    config.write_text(f"data: {{dataset: xor, n_samples: 12, validation_split: 0}}\nmodel:\n  layers:\n{layers}")
    for verb, did in (("trace", "traced all 12"), ("gradcheck", "checked on all of them")):
        result = backprop(verb, str(config), "--rows", "100", "--json")
        assert result.returncode == 0, err(result)
        assert f"note: --rows 100: the training split has only 12 rows; {did}" in err(result)
        asked_for_all = backprop(verb, str(config), "--rows", "12", "--json")
        assert "only 12 rows" not in err(asked_for_all)  # exactly what was asked: nothing to announce
    assert json.loads(out(backprop("trace", str(config), "--rows", "100", "--json")))["rows"] == 12


SGD_NET = """\
    - {type: dense, units: 5, activation: tanh}
    - {type: batchnorm}
    - {type: residual, layers: [{type: dense, units: 5, activation: relu}]}
    - {type: dense, units: 3}
"""


def test_before_minus_after_is_lr_times_the_gradient_for_every_parameter_with_sgd(tmp_path):
    from .conftest import write_config

    extra = ("optimizer: {type: sgd, lr: 0.3}\nschedule: {type: cosine}\n"  # a rate that changes at every step
             "training: {epochs: 1, batch_size: 6, dtype: float64}\n")  # fmt: skip
    config = write_config(tmp_path / "sgd.yaml", SGD_NET, data="{dataset: iris, validation_split: 0}", extra=extra)
    result = backprop("trace", str(config), "--steps", "3", "--full", "--json")
    assert result.returncode == 0, err(result)
    steps = json.loads(out(result))["steps"]
    previous_after = None
    for step in steps:
        grads = {f"{row['name']}.{k}": g["values"] for row in step["backward"] for k, g in row["grads"].items()}
        assert grads and set(grads) == {p["name"] for p in step["params"]}  # every parameter, nested ones too
        for param in step["params"]:
            before, after = np.array(param["before"]["values"]), np.array(param["after"]["values"])
            np.testing.assert_allclose(before - after, step["lr"] * np.array(grads[param["name"]]), rtol=1e-9,
                                       atol=1e-14, err_msg=param["name"])  # fmt: skip
            assert np.any(before != after), param["name"]  # the update is seen: "before" is a copy, not a view
        if previous_after is not None:  # the next step starts where this one ended
            assert {p["name"]: p["before"]["values"] for p in step["params"]} == previous_after
        previous_after = {p["name"]: p["after"]["values"] for p in step["params"]}
