"""Loading an experiment: YAML file + `--set` overrides -> one validated `Config`, or one clear error.

Every error names the key path and where it came from: the file and line, or the `--set` that wrote it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from backprop_cli.config.schema import Config
from backprop_cli.config.validation import KeyPath, validate
from backprop_cli.config.yamlsafe import YamlDoc, parse_yaml, read_yaml_file
from backprop_cli.errors import ConfigError


@dataclass
class LoadedConfig:
    """A validated config and where each of its keys came from."""

    config: Config
    source: str
    doc: YamlDoc
    override_origins: dict[KeyPath, str] = field(default_factory=dict)

    def where(self, path: KeyPath) -> str:
        """The --set that wrote this key (or a key below it), else the file and line."""
        path = tuple(path)
        for end in range(len(path), 0, -1):
            origin = self.override_origins.get(path[:end])
            if origin is not None:
                return origin
        below = [origin for key, origin in self.override_origins.items() if key[: len(path)] == path]
        return below[0] if below else self.doc.where(path)

    def locate(self, err: ConfigError) -> ConfigError:
        """An error found after validation (model size, class count) whose `where` is a key path of this
        config: the same error, placed at the file line (or the --set) that wrote that key."""
        head = (err.where or "").split(".")[0]
        if head not in Config.model_fields:
            return err
        path = tuple(int(p) if p.isdecimal() else p for p in err.where.split("."))
        fix = err.fix
        note = self.path_base(path[1]) if len(path) == 2 and path[0] == "data" else None
        if note:
            fix = f"{fix}: {note}" if fix else note
        return ConfigError(f"{err.where}: {err.what}", where=self.where(path), fix=fix)

    def path_base(self, key: str) -> str | None:
        """Which folder a relative data path was read from (anchor_data_paths decided it), for messages."""
        section = self.doc.data.get("data") if isinstance(self.doc.data, dict) else None
        written = section.get(key) if isinstance(section, dict) else None
        if not isinstance(written, str) or Path(written).is_absolute():
            return None
        if ("data", key) in self.override_origins or not Path(self.source).is_file():
            return f"`{written}` was read relative to the current directory, {Path.cwd()}"
        return f"`{written}` was read relative to the config file's folder, {Path(self.source).parent.resolve()}"


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = (), plugins: bool = True) -> LoadedConfig:
    """Read, override and validate a config file as a whole, before anything runs.

    `plugins`: read the plugin files it names (config/plugins.py); False for a run's own config.yaml,
    whose plugins only `--plugin FILE` may hand over.
    """
    doc = read_yaml_file(path)
    return build_config(doc, overrides, plugins)


def build_config(doc: YamlDoc, overrides: list[str] | tuple[str, ...] = (), plugins: bool = True) -> LoadedConfig:
    data = doc.data
    if data is None:
        raise ConfigError("the config file is empty", where=doc.source, fix="see configs/quickstart.yaml")
    if not isinstance(data, dict):
        raise ConfigError(
            f"the top level must be a mapping of sections, not a {type(data).__name__}",
            where=doc.where(()),
            fix="start with keys like `data:` and `model:`",
        )
    if {"base", "parameters"} <= data.keys() and "model" not in data:  # the keys of a sweep file (many/spec.py)
        raise ConfigError(
            "this is a sweep file (it has `base:` and `parameters:`), not an experiment config",
            where=doc.where(()),
            fix=f"run it with `backprop sweep {doc.source}`; this command takes an experiment config, such as its base",
        )
    origins: dict[KeyPath, str] = {}
    for item in overrides:
        key_path, value = parse_override(item)
        apply_override(data, key_path, value, item)
        origins[key_path] = f"--set {item}"
    if "name" not in data or data.get("name") is None:
        data = {"name": default_name(doc.source), **data}
    loaded = LoadedConfig(config=None, source=doc.source, doc=doc, override_origins=origins)  # type: ignore[arg-type]
    config = validate(Config, data, where=loaded.where)
    loaded.config = anchor_data_paths(config, doc.source, origins)
    if plugins:
        from backprop_cli.config.plugins import load_plugins

        loaded.config = load_plugins(loaded.config, loaded)
    return loaded


def anchor_data_paths(config: Config, source: str, origins: dict[KeyPath, str]) -> Config:
    """Data paths written in a config file are relative to that file; those given with --set, to the cwd.

    The resolved config (config.yaml in the run directory) then holds paths that work from anywhere.
    """
    data = config.data
    keys = ["path", "test_path"] + (["target"] if data.path and data.path.endswith(".npy") else [])
    base = Path(source).parent
    changes = {}
    for key in keys:
        value = getattr(data, key)
        if value and not Path(value).is_absolute():
            from_file = ("data", key) not in origins and Path(source).is_file()
            # the file itself is not resolved: a symlink into a content-addressed store (DVC, git-annex) keeps
            # the name that carries its suffix, and messages name what the user wrote
            changes[key] = os.path.normpath((base.resolve() if from_file else Path.cwd()) / value)
    return config.model_copy(update={"data": data.model_copy(update=changes)}) if changes else config


def default_name(source: str) -> str:
    """The config file's stem, reduced to the characters a run name may hold."""
    stem = Path(source).stem if not source.startswith("--") else "run"
    cleaned = "".join(c if c.isalnum() or c in "._-" else "-" for c in stem).lstrip("._-")[:64]
    return cleaned or "run"


def parse_override(item: str) -> tuple[KeyPath, object]:
    """`optimizer.lr=0.01` -> (("optimizer", "lr"), 0.01); the value is parsed as YAML."""
    key, sep, raw = item.partition("=")
    where = f"--set {item}"
    if not sep or not key.strip():
        raise ConfigError("expected KEY=VALUE", where=where, fix="for example --set optimizer.lr=0.01")
    parts = key.strip().split(".")
    if any(not p for p in parts):
        raise ConfigError(f"{key!r} is not a dotted key path", where=where, fix="for example model.layers.0.units")
    path = tuple(int(p) if p.isdecimal() else p for p in parts)  # isdigit() admits '²', which int() refuses
    return path, parse_yaml(raw, where).data


def apply_override(data: dict, path: KeyPath, value: object, item: str) -> None:
    """Set `value` at `path`, creating mappings on the way; list indices must exist."""
    where = f"--set {item}"
    node = data
    for depth, key in enumerate(path[:-1]):
        node = _step_into(node, key, path[: depth + 1], where)
    last = path[-1]
    if isinstance(node, list):
        _check_index(node, last, path, where)
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ConfigError(f"{_dotted(path[:-1])} is a value, not a section", where=where)


def _step_into(node, key, path: KeyPath, where: str):
    if isinstance(node, list):
        _check_index(node, key, path, where)
        return node[key]
    if not isinstance(node, dict):
        raise ConfigError(f"{_dotted(path[:-1])} is a value, not a section", where=where)
    if node.get(key) is None:
        node[key] = {}
    return node[key]


def _check_index(node: list, key, path: KeyPath, where: str) -> None:
    if not isinstance(key, int):
        raise ConfigError(f"{_dotted(path[:-1])} is a list: use an index, not {key!r}", where=where)
    if key >= len(node):
        raise ConfigError(
            f"{_dotted(path[:-1])} has {len(node)} entries (0..{len(node) - 1}); there is no entry {key}",
            where=where,
            fix="add the entry in the config file",
        )


def _dotted(path: KeyPath) -> str:
    return ".".join(map(str, path)) or "the config"


def config_to_yaml(config: Config) -> str:
    """The resolved config as YAML that `load_config` reads back to the same Config."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, default_flow_style=None, width=100)


def config_from_dict(data: dict, source: str = "checkpoint") -> Config:
    """Validate a resolved config stored as a dict (in a checkpoint or a run directory)."""
    return validate(Config, data, where=lambda path: source)
