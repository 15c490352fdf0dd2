"""Resuming a run: which config it continues, which changes are safe, and putting the state back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backprop_cli.config import load_config
from backprop_cli.config_schema import Config
from backprop_cli.errors import CheckpointError, ConfigError, RunDirError
from backprop_cli.runs.checkpoint import Checkpoint, check_tensors_match, load_checkpoint
from backprop_cli.runs.metrics_log import repair_metrics
from backprop_cli.runs.rundir import RunFiles, is_run_dir
from backprop_cli.runs.summary import read_summary

# Keys that may differ between the run's config and the one given with --resume without changing the run.
IGNORED_KEYS = {("name",), ("output", "runs_dir")}
FINISHED = ("completed", "early_stopped")


@dataclass
class ResumePoint:
    run_dir: Path
    config: Config
    checkpoint: Checkpoint | None  # None: the run never saved one; it starts from scratch
    already_finished: dict | None = None  # the summary of a run that has nothing left to do


def prepare_resume(run_dir: str | Path, given: Config | None) -> ResumePoint:
    """Check that `run_dir` is a run we may continue with `given` (or its own config)."""
    run_dir = Path(run_dir)
    if not is_run_dir(run_dir):
        raise RunDirError(
            f"{run_dir} is not a run directory (no config.yaml and metrics.jsonl)",
            fix="give the directory that `backprop train` printed",
        )
    files = RunFiles(run_dir)
    stored = load_config(files.config).config
    config = stored if given is None else _accept_changes(stored, given)
    summary = read_summary(run_dir) or {}
    checkpoint = load_checkpoint(files.last) if files.last.is_file() else None
    progress = checkpoint.meta.get("progress") if checkpoint is not None else None
    at_epoch_end = isinstance(progress, dict) and progress.get("batch_in_epoch", 0) == 0
    epochs_run = summary.get("epochs_run")
    all_run = isinstance(epochs_run, int) and config.training.epochs <= epochs_run
    if summary.get("status") in FINISHED and all_run and at_epoch_end:
        return ResumePoint(run_dir, config, checkpoint, already_finished=summary)
    return ResumePoint(run_dir, config, checkpoint)


def _accept_changes(stored: Config, given: Config) -> Config:
    """Only more epochs is a safe change; anything else would make a different run."""
    old, new = stored.model_dump(mode="json"), given.model_dump(mode="json")
    changes = [(path, a, b) for path, a, b in _differences(old, new) if path not in IGNORED_KEYS]
    unsafe = [c for c in changes if not (c[0] == ("training", "epochs") and c[2] > c[1])]
    if unsafe:
        lines = "\n".join(f"  {'.'.join(map(str, p))}: {a!r} -> {b!r}" for p, a, b in unsafe)
        raise ConfigError(
            f"the config differs from the run's:\n{lines}",
            where="--resume",
            fix="only a larger training.epochs may change; start a new run for the rest",
        )
    return stored.model_copy(update={"training": stored.training.model_copy(update={"epochs": given.training.epochs})})


def _differences(old, new, path: tuple = ()):
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            yield from _differences(old.get(key), new.get(key), (*path, key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            yield from _differences(a, b, (*path, i))
    elif old != new:
        yield path, old, new


def restore(resume: ResumePoint, trainer, callbacks, checkpointer, files: RunFiles) -> None:
    """Put the checkpoint's state back into the trainer and callbacks; make metrics.jsonl agree with it."""
    checkpoint = resume.checkpoint
    if checkpoint is None:
        repair_metrics(files.metrics, 0, None)
        return
    meta = checkpoint.meta
    _check_model_tensors(checkpoint, trainer.model)
    try:
        trainer.load(checkpoint.tensors, meta["progress"])
        callbacks.load_state_dict(meta.get("callbacks", {}))
    except (KeyError, TypeError, ValueError, AttributeError) as err:  # a valid checksum over foreign state
        raise CheckpointError(
            f"its resume state is incomplete or malformed ({type(err).__name__}: {err})",
            where=str(checkpoint.path),
            fix="start a new run; this one cannot be continued",
        ) from None
    checkpointer.last_record = meta.get("metrics")
    checkpointer.last_saved_step, checkpointer.last_saved_epoch = trainer.step, trainer.epoch
    if files.best.is_file():
        best = load_checkpoint(files.best)
        _check_model_tensors(best, trainer.model)
        checkpointer.best_model_tensors = best.section("model")
    repair_metrics(files.metrics, trainer.epoch, meta.get("metrics"))


def _check_model_tensors(checkpoint: Checkpoint, model) -> None:
    """Names, shapes and dtypes exactly as the model has them: a float64 tensor is not silently cast."""
    expected = {f"model.{name}": (t.shape, t.dtype) for name, t in model.state_tensors().items()}
    found = {name: t for name, t in checkpoint.tensors.items() if name.startswith("model.")}
    check_tensors_match(found, expected, checkpoint.path)
