"""Plugin layers named by the config being loaded: each file read, hashed, and its class and args checked.

Loading a config is the user asking for the code it names (as Lightning's CLI imports a `class_path`):
the file is read relative to the config file's folder (to the current directory when the layer came
from --set), executed once as a module, its class looked up and its args checked against the
constructor, each mistake reported at its YAML line. The resolved config keeps the absolute path and
the file's SHA-256, so a run directory and a checkpoint name the code by its hash (never by running it).
A `sha256:` written in the config pins the file: a different file is refused.
"""

from __future__ import annotations

import os
from pathlib import Path

from backprop_cli.config.schema import Config
from backprop_cli.errors import ConfigError


def load_plugins(config: Config, loaded) -> Config:
    """`config` with each plugin layer's path made absolute and its sha256 filled in; `loaded` is the
    LoadedConfig being built (where each key came from)."""
    layers = _anchored(config.model.layers, ("model", "layers"), loaded)
    if layers == config.model.layers:
        return config
    return config.model_copy(update={"model": config.model.model_copy(update={"layers": layers})})


def _anchored(layers: list, path: tuple, loaded) -> list:
    out = []
    for i, spec in enumerate(layers):
        key = (*path, i)
        if spec.type == "plugin":
            spec = _checked(spec, key, loaded)
        elif spec.type == "residual":
            spec = spec.model_copy(update={"layers": _anchored(spec.layers, (*key, "layers"), loaded)})
        out.append(spec)
    return out


def _checked(spec, key: tuple, loaded):
    from backprop_cli.nn.plugin import check_args, plugin_class
    from backprop_cli.nn.plugin_source import provide_file

    dotted = ".".join(map(str, key))
    full = _absolute(spec.path, key, loaded)
    try:
        source = provide_file(full, where=f"{dotted}.path")
        if spec.sha256 is not None and spec.sha256 != source.sha256:
            raise ConfigError(
                f"{full} has sha256 {source.sha256}, but the config pins {spec.sha256}",
                where=f"{dotted}.sha256",
                fix="the file changed: restore it, or remove (or update) the pinned sha256",
            )
        cls = plugin_class(source, spec.class_, where=f"{dotted}.class")
        check_args(cls, spec.args, dotted)
    except ConfigError as err:  # at the line that wrote the key
        err.where = err.where or f"{dotted}.path"  # the module itself would not load
        raise loaded.locate(err) from None
    return spec.model_copy(update={"path": full, "sha256": source.sha256})


def _absolute(path: str, key: tuple, loaded) -> str:
    """A relative path from the config file is read from its folder; from --set, from the current directory."""
    if Path(path).is_absolute():
        return os.path.normpath(path)
    written = (*key, "path")
    from_set = any(written[:end] in loaded.override_origins for end in range(1, len(written) + 1))
    base = Path.cwd() if from_set or not Path(loaded.source).is_file() else Path(loaded.source).parent.resolve()
    return os.path.normpath(base / path)
