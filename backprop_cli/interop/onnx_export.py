"""`backprop export --format onnx`: a trained network as one ONNX model, from raw rows to predictions.

Graph: input (N, *input_shape) float32 rows in the training files' units (a table: one input per column,
and the saved recipe of its typed columns first, interop/onnx_table.py) -> the saved input scaling
(Sub offset, Div scale: the first nodes) -> every layer in inference form (onnx_layers.EXPORTERS) ->
the head: `logits` (classification, default), `probabilities` (--proba: the loss's link, softmax or
sigmoid), or `values` (regression, in the target's original units). The batch dimension is "N".
Metadata (`metadata_props`): class names, feature names, the output kind and the resolved config.
"""

from __future__ import annotations

import json

from backprop_cli import __version__
from backprop_cli.data.meta import recipe_of, scalers_of
from backprop_cli.errors import UserError
from backprop_cli.interop.onnx_graph import OPSET, Graph, to_proto
from backprop_cli.interop.onnx_layers import export_layer
from backprop_cli.interop.onnx_table import ML_DOMAIN, ML_OPSET, table_front

IR_VERSION = 8  # the IR of opset 17: runtimes of that age and newer load it
ONNX_FIX = "install the optional extra: pip install 'backprop-cli[onnx]'"


def require_onnx():
    """The onnx module, or one clear message saying how to get it."""
    try:
        import onnx
    except ImportError:
        raise UserError("ONNX export needs the `onnx` package, which is not installed", fix=ONNX_FIX) from None
    return onnx


def _scaled_input(g: Graph, scaler, raw: str) -> str:
    """x_model = (x_raw - offset) / scale, in the order and operations of Scaler.transform."""
    x = g.op("Sub", [raw, g.const("scaler.offset", scaler.offset)], "scaled.centered")
    return g.op("Div", [x, g.const("scaler.scale", scaler.scale)], "scaled")


def _head(g: Graph, trained, y: str, proba: bool) -> str:
    """The graph's output: logits, probabilities (the loss's link) or values in the target's units."""
    if not trained.classification:
        if proba:
            raise UserError("--proba is for classifiers; this model predicts values", where="--proba")
        _, target_scaler = scalers_of(trained.data_meta)
        if target_scaler is not None:  # back to original units: y * scale + offset
            y = g.op("Mul", [y, g.const("target_scaler.scale", target_scaler.scale)], "values.scaled")
            y = g.op("Add", [y, g.const("target_scaler.offset", target_scaler.offset)], "values.shifted")
        return g.op("Identity", [y], "values")
    if not proba:
        return g.op("Identity", [y], "logits")
    if trained.loss.name == "binary_cross_entropy":  # one logit -> (N, 2): [1 - p, p], as predict --proba
        p1 = g.op("Sigmoid", [y], "p1")
        p0 = g.op("Sub", [g.const("one", 1.0), p1], "p0")
        return g.op("Concat", [p0, p1], "probabilities", axis=1)
    if trained.loss.name == "cross_entropy":
        return g.op("Softmax", [y], "probabilities", axis=1)
    return g.op("Identity", [y], "probabilities")  # a loss without a link: the outputs are read as they are


def onnx_metadata(trained, output: str) -> dict[str, str]:
    meta = trained.data_meta
    return {
        "producer": f"backprop {__version__}",
        "task": meta["task"],
        "output": output,
        "class_names": json.dumps(meta.get("class_names")),
        "feature_names": json.dumps(meta.get("feature_names")),
        "target_names": json.dumps(meta.get("target_names")),
        "input_shape": json.dumps(meta["input_shape"]),
        "input_units": "raw rows in the training files' units; the saved scaling is the graph's first nodes",
        **({"columns": json.dumps(meta["columns"])} if meta.get("columns") else {}),
        "config": json.dumps(trained.resolved_config, sort_keys=True),
        "epoch": str(trained.epoch),
    }


def export_onnx(trained, proba: bool = False):
    """The checked onnx.ModelProto of a trained model (see the module docstring for its layout)."""
    onnx = require_onnx()
    from onnx import helper

    g = Graph()
    recipe = recipe_of(trained.data_meta)
    if recipe is not None:  # a table: one input per column, the recipe's nodes first (interop/onnx_table.py)
        raw, columns = table_front(g, recipe, trained.data_meta.get("na_values", []))
        inputs = [(name, ["N", 1], kind) for name, kind in columns]
    else:
        raw = g.fresh("input")
        inputs = [("input", ["N", *trained.data_meta["input_shape"]])]
    scaler, _ = scalers_of(trained.data_meta)
    y, shape = _scaled_input(g, scaler, raw), tuple(trained.data_meta["input_shape"])
    for i, layer in enumerate(trained.model.layers):
        y, shape = export_layer(g, layer, y, f"model.{i}", shape)
    out = _head(g, trained, y, proba)
    out_shape = (2,) if out == "probabilities" and trained.loss.name == "binary_cross_entropy" else shape
    graph = to_proto(g, "backprop", inputs, [(out, ["N", *out_shape])])
    opsets = [helper.make_opsetid("", OPSET)] + ([helper.make_opsetid(ML_DOMAIN, ML_OPSET)] if recipe else [])
    model = helper.make_model(graph, opset_imports=opsets, producer_name="backprop")
    model.producer_version, model.ir_version = __version__, IR_VERSION
    model.doc_string = f"backprop model from {trained.path} (epoch {trained.epoch}); output: {out}"
    helper.set_model_props(model, onnx_metadata(trained, out))
    onnx.checker.check_model(model, full_check=True)
    return model
