"""`backprop import-weights`: a run directory whose checkpoint holds weights trained elsewhere.

The configured network is built on its data exactly as `train` would (same seed, split and scaling,
so eval and predict see what training would have seen), the PyTorch tensors are mapped onto it
(torch_map.py), and the run gets config.yaml, checkpoints/last.safetensors (epoch 0, optimizer state
fresh) and summary.json with status `imported`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import safetensors.numpy

from backprop_cli.config.load import config_to_yaml
from backprop_cli.config.schema import Config
from backprop_cli.data import dataset_meta
from backprop_cli.errors import CheckpointError, RunDirError, UserError
from backprop_cli.interop.torch_map import map_state_dict, refuse_pickles
from backprop_cli.runs.atomic import atomic_write_text
from backprop_cli.runs.checkpoint import save_checkpoint
from backprop_cli.runs.plugin_copies import plugin_records, save_plugin_sources
from backprop_cli.runs.rundir import RunFiles, create_run_dir
from backprop_cli.runs.safetensors_header import read_safetensors
from backprop_cli.runs.summary import write_summary
from backprop_cli.train.evaluate import score_split
from backprop_cli.train.setup import build_parts


def read_weights(path: str | Path) -> dict:
    """The tensors of a safetensors file, read with the bounded reader; pickles are refused unopened."""
    path = Path(path)
    if not path.is_file():
        raise UserError("no such weights file", where=str(path), fix="pass a .safetensors file")
    refuse_pickles(path)
    try:
        container = read_safetensors(path)
    except CheckpointError as err:
        raise UserError(f"not a readable safetensors file ({err.what})", where=str(path)) from None
    return dict(safetensors.numpy.load(container.data))


def _new_run_dir(output: Path | None, runs_dir: str, name: str) -> Path:
    """-o RUN exactly (it must not exist yet), else a fresh <runs_dir>/<name>-<stamp>-<hex>."""
    if output is None:
        return create_run_dir(runs_dir, name)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.mkdir()
        RunFiles(output).checkpoints.mkdir()
    except FileExistsError:
        raise RunDirError("already exists", where=str(output), fix="choose a new directory for -o") from None
    except OSError as err:
        raise RunDirError(f"cannot create run directory: {err.strerror or err}", where=str(output)) from None
    return output


def import_weights(config: Config, weights: str | Path, output: Path | None = None, runs_dir: str | None = None):
    """Write the run directory for CONFIG with WEIGHTS' tensors; return its path."""
    tensors = read_weights(weights)
    parts = build_parts(config, download_progress=None)  # data, scaling and model as `train` builds them
    parts.model.load_state_tensors(map_state_dict(parts.model, tensors, str(weights)))
    if parts.trainer.ema is not None:  # the average starts from the imported weights, not the random ones
        parts.trainer.ema.reset(parts.model.flat_params)
    test = _test_scores(parts)  # all that can fail on the user's input fails before the run directory exists
    run_dir = _new_run_dir(output, runs_dir or config.output.runs_dir, config.name or "imported")
    files = RunFiles(run_dir)
    atomic_write_text(files.config, config_to_yaml(config))
    save_plugin_sources(run_dir, config)
    trainer = parts.trainer
    meta = {"config": config.model_dump(mode="json"), "data": dataset_meta(parts.data), "threads": None,
            "kind": "last", "epoch": 0, "step": 0, "metrics": None, "progress": trainer.progress_state(),
            "callbacks": {}, "saved_at": time.time(), "imported_from": str(weights),
            "plugins": plugin_records(config)}  # fmt: skip
    save_checkpoint(files.last, trainer.tensors(), meta)
    write_summary(run_dir, _summary(run_dir, config, weights, test))
    return run_dir


def _test_scores(parts) -> dict | None:
    """The imported model on the test split, as a finished run reports it (`runs list` shows it)."""
    data = parts.data
    if data.x_test is None:
        return None
    return score_split(parts.model, parts.loss, data.x_test, data.y_test, parts.trainer.classification)


def _summary(run_dir: Path, config: Config, weights, test: dict | None) -> dict:
    return {"run_dir": str(run_dir), "name": config.name, "status": "imported", "stop_reason": None,
            "imported_from": str(weights), "epochs_run": 0, "epochs": config.training.epochs, "step": 0,
            "best_epoch": None, "best": {}, "final": None, "test": test, "warnings": [], "wall_time_s": 0.0,
            "threads": None, "pid": os.getpid()}  # fmt: skip
