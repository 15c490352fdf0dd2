"""`config show`: the resolved config as it will run, without the keys that do not apply to it.

The run directory's config.yaml keeps every key (config_to_yaml); this view drops what has no effect
here (a huber `delta` under cross_entropy, `init_scale` under he_normal, the file keys of a built-in
dataset) and writes the defaults that are decided later (a layer's `init`). It still loads to the
same Config.
"""

from __future__ import annotations

import yaml

from backprop_cli.config.schema import Config

SCALED_INITS = ("normal", "uniform", "constant")  # the inits that read init_scale
CLASS_LOSSES = ("cross_entropy", "binary_cross_entropy")  # scale_target applies to regression targets only


def shown_config(config: Config) -> dict:
    """The config as plain data: resolved defaults written out, keys that do not apply left out."""
    from backprop_cli.nn.initializers import default_init

    data = config.model_dump(mode="json")
    data["data"] = {key: value for key, value in data["data"].items() if value is not None}  # unset: the default
    if data["loss"]["type"] in CLASS_LOSSES:
        data["data"].pop("scale_target", None)
    if data["data"].get("format") == "auto" and "path" not in data["data"]:  # the format of a file's text
        data["data"].pop("format")
    data["model"]["layers"] = [_layer(layer, default_init) for layer in data["model"]["layers"]]
    if data["loss"]["type"] != "huber":
        data["loss"] = data["loss"]["type"]
    for section, key in (("training", "threads"), ("diagnostics", "monitor_every_n_steps")):
        if data[section].get(key) is None:
            data[section].pop(key)
    return data


def _layer(layer: dict, default_init) -> dict:
    if "layers" in layer:
        layer["layers"] = [_layer(inner, default_init) for inner in layer["layers"]]
    if "init" in layer:
        if layer["init"] is None:
            layer["init"] = default_init(layer.get("activation"))
        if layer["init"] not in SCALED_INITS:
            layer.pop("init_scale", None)
    if layer.get("per_step") is False:  # a sequence option, off
        layer.pop("per_step")
    return {key: value for key, value in layer.items() if value is not None}  # unset: decided at build


def shown_yaml(config: Config) -> str:
    return yaml.safe_dump(shown_config(config), sort_keys=False, default_flow_style=None, width=100)
