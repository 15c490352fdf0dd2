"""Resuming a run: which config it continues, which changes are safe, and putting the state back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backprop_cli.config.load import load_config
from backprop_cli.config.schema import Config
from backprop_cli.errors import CheckpointError, ConfigError, RunDirError
from backprop_cli.runs.checkpoint import Checkpoint, check_tensors_match, load_checkpoint
from backprop_cli.runs.metrics_log import repair_metrics
from backprop_cli.runs.rundir import RunFiles, is_run_dir, newest_run_named
from backprop_cli.runs.studydir import study_pointer
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
    run_id: str | None = None  # the run's identity, kept in summary.json and in every checkpoint


def prepare_resume(run_dir: str | Path, given: Config | None) -> ResumePoint:
    """Check that `run_dir` is a run we may continue with `given` (or its own config)."""
    run_dir = newest_run_named(run_dir) or Path(run_dir)
    pointer = None if is_run_dir(run_dir) else study_pointer(run_dir)
    if pointer is not None:
        raise RunDirError(pointer[0], fix=pointer[1])
    if not is_run_dir(run_dir):
        raise RunDirError(
            f"{run_dir} is not a run directory (no config.yaml and metrics.jsonl)",
            fix="give the directory that `backprop train` printed",
        )
    files = RunFiles(run_dir)
    stored = load_config(files.config, plugins=False).config  # its plugins: only from --plugin FILE
    config = stored if given is None else _accept_changes(stored, given)
    summary = read_summary(run_dir) or {}
    run_id = summary.get("run_id") if isinstance(summary.get("run_id"), str) else run_dir.name
    checkpoint = load_checkpoint(files.last) if files.last.is_file() else None
    for saved in (checkpoint, load_checkpoint(files.best) if files.best.is_file() else None):
        if saved is not None:
            _check_belongs(saved, stored, run_id, files.config)
    progress = checkpoint.meta.get("progress") if checkpoint is not None else None
    at_epoch_end = isinstance(progress, dict) and progress.get("batch_in_epoch", 0) == 0
    epochs_run = summary.get("epochs_run")
    all_run = isinstance(epochs_run, int) and config.training.epochs <= epochs_run
    if summary.get("status") in FINISHED and all_run and at_epoch_end:
        return ResumePoint(run_dir, config, checkpoint, already_finished=summary, run_id=run_id)
    return ResumePoint(run_dir, config, checkpoint, run_id=run_id)


def _check_belongs(checkpoint: Checkpoint, stored: Config, run_id: str, config_file: Path) -> None:
    """The checkpoint was written by this run, under this config: its checksummed resolved config and run
    identity must agree with the run's config.yaml and summary (a copied-in checkpoint, an edited config.yaml)."""
    owner = checkpoint.meta.get("run_id")
    if owner is not None and owner != run_id:
        raise CheckpointError(
            f"belongs to run {owner!r}, not to this run ({run_id!r}): it was copied in from another run",
            where=str(checkpoint.path),
            fix="resume the run that wrote it, or remove it to start this run from scratch",
        )
    saved = checkpoint.meta.get("config")
    if not isinstance(saved, dict):
        raise CheckpointError("holds no resolved config to compare with config.yaml", where=str(checkpoint.path))
    unsafe = unsafe_changes(saved, stored.model_dump(mode="json"))
    if unsafe:
        raise ConfigError(
            f"config.yaml differs from the config its checkpoint {checkpoint.path.name} was trained with:\n"
            + describe_changes(unsafe),
            where=str(config_file),
            fix="put config.yaml back as it was, or start a new run with the new config",
        )


def unsafe_changes(old: dict, new: dict) -> list[tuple]:
    """(key path, old, new) for every difference that would make a different run: all but a larger
    training.epochs and the keys that only name or place the run."""
    changes = [(path, a, b) for path, a, b in differences(old, new) if path not in IGNORED_KEYS]
    return [c for c in changes if not (c[0] == ("training", "epochs") and _larger(c[2], c[1]))]


def _larger(new, old) -> bool:
    return isinstance(new, int) and isinstance(old, int) and new > old


def describe_changes(changes: list[tuple]) -> str:
    return "\n".join(f"  {'.'.join(map(str, p))}: {a!r} -> {b!r}" for p, a, b in changes)


def _accept_changes(stored: Config, given: Config) -> Config:
    """Only more epochs is a safe change; anything else would make a different run."""
    unsafe = unsafe_changes(stored.model_dump(mode="json"), given.model_dump(mode="json"))
    if unsafe:
        raise ConfigError(
            f"the config differs from the run's:\n{describe_changes(unsafe)}",
            where="--resume",
            fix="only a larger training.epochs may change; start a new run for the rest",
        )
    return stored.model_copy(update={"training": stored.training.model_copy(update={"epochs": given.training.epochs})})


def differences(old, new, path: tuple = ()):
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            yield from differences(old.get(key), new.get(key), (*path, key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            yield from differences(a, b, (*path, i))
    elif old != new or isinstance(old, bool) != isinstance(new, bool):  # True == 1, but a flag is not a number
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
        checkpointer.best_model_tensors = best.weights()
    repair_metrics(files.metrics, trainer.epoch, meta.get("metrics"))


def _check_model_tensors(checkpoint: Checkpoint, model) -> None:
    """Names, shapes and dtypes exactly as the model has them: a float64 tensor is not silently cast."""
    expected = {f"model.{name}": (t.shape, t.dtype) for name, t in model.state_tensors().items()}
    found = {name: t for name, t in checkpoint.tensors.items() if name.startswith("model.")}
    check_tensors_match(found, expected, checkpoint.path)
