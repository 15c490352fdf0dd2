"""`backprop export --format npz`: plain named arrays and a JSON of the layer list, for any other tool.

Members: every model tensor under its checkpoint name (`model.0.W` (in, out) for dense, `model.2.W`
(F, C, k, k) for conv2d, batchnorm `gamma`, `beta`, `running_mean`, `running_var`, nested blocks
`model.<i>.<j>.<name>`), the input scaling `scaler.offset` / `scaler.scale` (x = (raw - offset) / scale),
for a table's typed columns the recipe that comes before the scaling (`columns.json` and per column
`columns.<name>.fill` or `columns.<name>.levels`), and `layers.json`: a 0-d string array holding the JSON
description below. Nothing is pickled: read it with `np.load(path)` (allow_pickle stays False) and
`json.loads(str(npz["layers.json"]))`.
"""

from __future__ import annotations

import io
import json

import numpy as np

from backprop_cli import __version__
from backprop_cli.data.meta import recipe_of, scalers_of
from backprop_cli.nn.model import describe
from backprop_cli.nn.registry import layer_name

NPZ_FORMAT = 1


def _layer_entry(name: str, layer, spec: dict, output_shape) -> dict:
    """One layer: its type, its config spec, its tensors' member names, its parts (residual blocks)."""
    entry = {
        "name": name,
        "type": layer_name(layer),
        "label": describe(layer),
        "spec": spec,
        "tensors": {key: f"{name}.{key}" for key in (*layer.params, *layer.state)},
    }
    if output_shape is not None:
        entry["output_shape"] = list(output_shape)
    parts = [(f"{name}.{key}", part) for key, part in layer.children()]
    if parts:
        inner_specs = spec.get("layers", [])
        entry["parts"] = [
            _layer_entry(part_name, part, inner_specs[j] if j < len(inner_specs) else {}, None)
            for j, (part_name, part) in enumerate(parts)
        ]
    return entry


def layer_list(trained) -> dict:
    """The JSON description of an exported model: the layers in order, the data meta, the config."""
    specs = trained.resolved_config["model"]["layers"]
    model = trained.model
    return {
        "format": NPZ_FORMAT,
        "producer": f"backprop {__version__}",
        "task": trained.data_meta["task"],
        "loss": trained.loss.name,
        "output": "logits" if trained.loss.expects == "logits" else "values",
        "input_shape": list(trained.data_meta["input_shape"]),
        "class_names": trained.data_meta.get("class_names"),
        "feature_names": trained.data_meta.get("feature_names"),
        "target_names": trained.data_meta.get("target_names"),
        "scaler": trained.data_meta["scaler"],
        "target_scaler": trained.data_meta.get("target_scaler"),
        "layers": [
            _layer_entry(f"model.{i}", layer, specs[i], model.output_shapes[i]) for i, layer in enumerate(model.layers)
        ],
        "config": trained.resolved_config,
    }


def _recipe_arrays(recipe, na_values: list[str]) -> dict[str, np.ndarray]:
    """A table's recipe: `columns.json` (each column's type, strategy, fill value and levels, null the level of
    missing values; the cells read as missing), and per column `columns.<name>.fill` (a number's fill value)
    or `columns.<name>.levels` (a category's levels as text, in one-hot order; "" for the missing level)."""
    arrays = {"columns.json": np.array(json.dumps({**recipe.to_dict(), "na_values": na_values}, indent=1))}
    for c in recipe.columns:
        if c.type.type == "number":
            arrays[f"columns.{c.type.name}.fill"] = np.array(c.fill, dtype=np.float64)
        else:
            arrays[f"columns.{c.type.name}.levels"] = np.array(["" if lv is None else lv for lv in c.levels], dtype=str)
    return arrays


def export_npz(trained) -> bytes:
    """The bytes of the .npz file (written atomically by the caller)."""
    arrays = {f"model.{name}": np.ascontiguousarray(t) for name, t in trained.model.state_tensors().items()}
    scaler, target_scaler = scalers_of(trained.data_meta)
    arrays["scaler.offset"], arrays["scaler.scale"] = scaler.offset, scaler.scale
    if target_scaler is not None:
        arrays["target_scaler.offset"], arrays["target_scaler.scale"] = target_scaler.offset, target_scaler.scale
    recipe = recipe_of(trained.data_meta)
    if recipe is not None:  # a table: the typed columns first, as predict applies them
        arrays.update(_recipe_arrays(recipe, trained.data_meta.get("na_values", [])))
    arrays["layers.json"] = np.array(json.dumps(layer_list(trained), indent=1))
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()
