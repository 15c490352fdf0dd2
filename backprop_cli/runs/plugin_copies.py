"""A run's plugin layers, for provenance: their names and hashes in the checkpoint, their source beside it.

The copies in RUN/plugins/ are for people to read (what exactly trained this model); nothing ever
executes them. eval, predict, export, generate and resume take the code only from `--plugin FILE`,
whose SHA-256 must equal the one recorded here.
"""

from __future__ import annotations

from pathlib import Path

from backprop_cli.nn.plugin import plugin_specs
from backprop_cli.nn.plugin_source import provided
from backprop_cli.runs.atomic import atomic_write_text

PLUGINS_DIR = "plugins"


def plugin_records(config) -> list[dict]:
    """{layer, file, class, sha256} of each plugin layer of a validated config (loaded with its plugins)."""
    return [
        {"layer": key, "file": Path(spec.path).name, "class": spec.class_, "sha256": spec.sha256}
        for key, spec in plugin_specs(config.model.layers)
    ]


def save_plugin_sources(run_dir: str | Path, config) -> None:
    """Write a copy of each plugin's source into RUN/plugins/ (a name shared by two files gets its hash)."""
    texts = {source.sha256: source.text for source in provided()}
    used: dict[str, str] = {}
    for record in plugin_records(config):
        sha, name = record["sha256"], record["file"]
        if sha not in texts:
            continue  # not handed over in this process: a resumed run keeps the copy it has
        if used.get(name, sha) != sha:
            name = f"{Path(name).stem}.{sha[:12]}{Path(name).suffix}"
        used[name] = sha
        folder = Path(run_dir) / PLUGINS_DIR
        folder.mkdir(exist_ok=True)
        atomic_write_text(folder / name, texts[sha])
