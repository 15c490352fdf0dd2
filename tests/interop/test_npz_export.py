"""`backprop export --format npz`: plain named arrays and a JSON layer list that rebuild the same predictions."""

from __future__ import annotations

import json

import numpy as np
from safetensors.numpy import load_file

from backprop_cli.data.scaling import Scaler
from backprop_cli.nn.model import build_model

from .helpers import backprop, ok, predict_npy


def test_npz_export_round_trips_to_the_checkpoints_tensors_and_predictions(digits, digits_runs):
    tmp, _, arrays = digits
    for name, run in digits_runs.items():
        path = ok(backprop("export", run, "--format", "npz"))
        assert path == str(run / "model.npz")
        npz = np.load(path)  # allow_pickle=False: nothing in it needs unpickling
        meta = json.loads(str(npz["layers.json"]))
        saved = {k: v for k, v in load_file(run / "checkpoints" / "best.safetensors").items() if k.startswith("model.")}
        assert {k: npz[k].tolist() for k in saved} == {k: v.tolist() for k, v in saved.items()}
        # any tool can rebuild the network from the JSON and the arrays: here, ours
        model = build_model(meta["config"]["model"]["layers"], tuple(meta["input_shape"]), np.random.default_rng(0))
        model.load_state_tensors({k[len("model.") :]: npz[k] for k in saved})
        scaler = Scaler("standard", npz["scaler.offset"], npz["scaler.scale"])
        logits = model.forward(scaler.transform(arrays["x_test"]), training=False)
        expected = predict_npy(run, arrays["x_test"], tmp)
        assert [str(i) for i in logits.argmax(axis=1)] == list(expected), name


def test_the_layer_list_names_each_layers_type_shape_and_tensors(digits_runs):
    path = ok(backprop("export", digits_runs["mlp"], "--format", "npz", "-o", digits_runs["mlp"] / "m.npz"))
    meta = json.loads(str(np.load(path)["layers.json"]))
    first, residual = meta["layers"][0], meta["layers"][4]
    spec = meta["config"]["model"]["layers"][0]
    tensors = {"W": "model.0.W", "b": "model.0.b"}
    assert first == {"name": "model.0", "type": "dense", "label": "dense", "output_shape": [32], "spec": spec,
                     "tensors": tensors}  # fmt: skip
    assert [p["name"] for p in residual["parts"]] == ["model.4.0", "model.4.1"]
    assert meta["layers"][1]["tensors"] == {k: f"model.1.{k}" for k in ("gamma", "beta", "running_mean", "running_var")}
    assert meta["class_names"] == [str(d) for d in range(10)] and meta["output"] == "logits"
