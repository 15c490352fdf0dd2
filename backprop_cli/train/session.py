"""A whole run: run directory, parts, callbacks, the loop, the final evaluation and the summary."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from backprop_cli.config.load import config_to_yaml
from backprop_cli.config.schema import Config
from backprop_cli.data import dataset_meta
from backprop_cli.data.meta import with_class_weights
from backprop_cli.errors import DivergedError, out_of_memory
from backprop_cli.nn.plugin import plugin_specs
from backprop_cli.runs.atomic import atomic_write_text, remove_stale_temps
from backprop_cli.runs.plugin_copies import plugin_records, save_plugin_sources
from backprop_cli.runs.rundir import RunFiles, RunLock, create_run_dir
from backprop_cli.runs.summary import write_summary
from backprop_cli.train.callbacks import Callback, CallbackList
from backprop_cli.train.checkpointing import Checkpointer
from backprop_cli.train.early_stopping import EarlyStopping
from backprop_cli.train.evaluate import score_split
from backprop_cli.train.histogram_log import HistogramLog
from backprop_cli.train.improvement import resolve_mode
from backprop_cli.train.log_writers import log_writers
from backprop_cli.train.loop import fit
from backprop_cli.train.monitor import gradient_monitor
from backprop_cli.train.plateau import PlateauFeeder
from backprop_cli.train.preflight import Preflight, preflight
from backprop_cli.train.resume import ResumePoint, restore
from backprop_cli.train.setup import Parts, build_parts
from backprop_cli.train.signals import stop_on_signals, terminate_unwinds
from backprop_cli.train.snapshots import Snapshots, snapshot_rule


@dataclass
class RunOptions:
    runs_dir: str | None = None  # --runs-dir wins over output.runs_dir
    run_name: str | None = None  # --run-name wins over the config's name
    threads: int | None = None
    extra_callbacks: list[Callback] = field(default_factory=list)
    download_progress: object = None  # (filename, bytes_done, bytes_total) -> None, for a missing dataset
    notice: Callable[[str], None] | None = None  # a line for the user (a table's typed columns), said once


@dataclass
class RunResult:
    summary: dict
    run_dir: Path
    signal: int | None = None  # the signal that stopped the run, for the CLI to die by


def best_monitor(config: Config, has_validation: bool) -> tuple[str, str]:
    es = config.training.early_stopping
    if es is not None:
        return es.monitor, resolve_mode(es.monitor, es.mode)
    monitor = "val_loss" if has_validation else "train_loss"
    return monitor, "min"


def run_training(config: Config, options: RunOptions, resume: ResumePoint | None = None) -> RunResult:
    """Train as configured; a new run directory, or the one being resumed."""
    with terminate_unwinds():  # SIGTERM while setting up unwinds like SIGINT: no empty run is left behind
        checked = None
        if resume is None:  # an unusable runs dir is refused first, before any data is read
            if plugin_specs(config.model.layers):  # ... but a user's own layer is proved before any run exists
                checked = preflight(config)
            run_dir = create_run_dir(options.runs_dir or config.output.runs_dir, options.run_name or config.name)
        else:
            run_dir = resume.run_dir
        return _set_up_and_train(config, options, resume, run_dir, checked)


def _set_up_and_train(
    config: Config, options: RunOptions, resume: ResumePoint | None, run_dir: Path, checked: Preflight | None
) -> RunResult:
    files = RunFiles(run_dir)
    with RunLock(run_dir):
        try:
            remove_stale_temps(run_dir)
            remove_stale_temps(files.checkpoints)
            atomic_write_text(files.config, config_to_yaml(config))
            save_plugin_sources(run_dir, config)
            checked = checked or preflight(config)  # what `config validate` checks, in the same order
            if checked.config is not config:  # a table's columns as inferred: the run says what it did
                config = checked.config
                atomic_write_text(files.config, config_to_yaml(config))
            for line in checked.notes if options.notice else ():
                options.notice(line)
            parts = build_parts(config, checked, download_progress=options.download_progress)
        except BaseException:
            if resume is None:  # nothing ran: leave no empty run behind
                shutil.rmtree(run_dir, ignore_errors=True)
            raise
        parts.trainer.optimizer.threads = options.threads or 1  # the elementwise update splits like BLAS
        return _train(parts, files, options, resume)


def _train(parts: Parts, files: RunFiles, options: RunOptions, resume: ResumePoint | None) -> RunResult:
    """The run: restore what is resumed, fit with the callbacks, then the summary (and the divergence)."""
    config, trainer = parts.config, parts.trainer
    started = time.time()
    run_id = resume.run_id if resume is not None and resume.run_id else files.root.name
    summary_base = {
        "run_dir": str(files.root),
        "run_id": run_id,
        "name": config.name,
        "threads": options.threads,
        "warnings": [],
    }
    callback_list, checkpointer = _callbacks(parts, files, options, run_id, summary_base, started)
    if resume is not None:
        restore(resume, trainer, callback_list, checkpointer, files)
    with stop_on_signals(trainer) as received:
        try:
            fit(trainer, callback_list)  # the checkpointer marks the run failed on any exception
        except MemoryError as err:
            raise out_of_memory(err, f"at epoch {trainer.epoch + 1}, step {trainer.step + 1}", files.root) from None
    if trainer.status == "running":
        trainer.status = "completed"
    summary = _finish(parts, checkpointer, summary_base, started)
    write_summary(files.root, summary)
    if trainer.status == "diverged":
        raise DivergedError(_divergence_message(trainer, checkpointer, config), where=str(files.root))
    return RunResult(summary=summary, run_dir=files.root, signal=received[0] if received else None)


def _callbacks(
    parts: Parts, files: RunFiles, options: RunOptions, run_id: str, summary_base: dict, started: float
) -> tuple[CallbackList, Checkpointer]:
    """The run's callbacks in the order they must hear each event, and its checkpointer among them."""
    config, trainer = parts.config, parts.trainer
    meta = {
        "config": config.model_dump(mode="json"),
        "data": with_class_weights(dataset_meta(parts.data, config.data.na_values), parts.loss),
        "threads": options.threads,
        "run_id": run_id,  # resume refuses a checkpoint copied in from another run
        "plugins": plugin_records(config),  # the user's code by file name, class and SHA-256: never run from here
    }
    monitor, mode = best_monitor(config, parts.data.x_val is not None)
    # first: the monitor adds logs["layers"] before the checkpointer writes them
    flow = gradient_monitor(config.diagnostics, config.regularization.grad_clip_norm)
    callbacks: list[Callback] = [flow] if flow else []
    if flow:
        summary_base["warnings"] = flow.warnings  # the monitor's list, growing as the run goes
    if config.schedule.type == "plateau":
        callbacks.append(PlateauFeeder(trainer.schedule))
    es = config.training.early_stopping
    if es is not None:
        callbacks.append(
            EarlyStopping(
                es.monitor,
                es.mode,
                es.patience,
                es.min_delta,
                es.baseline,
                es.start_from_epoch,
                es.divergence_threshold,
            )
        )
    callbacks += _picture_callbacks(parts, files, meta)
    callback_list = CallbackList(callbacks)

    def running_summary(t, status: str = "running") -> None:
        write_summary(files.root, _summary(summary_base, t, checkpointer, started, status=status))

    checkpointer = Checkpointer(
        files,
        meta,
        config.output.checkpoint_every,
        monitor,
        mode,
        callback_states=lambda: callback_list.state_dict(),
        running_summary=running_summary,
    )
    callback_list.callbacks.append(checkpointer)
    callback_list.callbacks.extend(log_writers(config, files))  # after the checkpointer: the line is written
    callback_list.callbacks.extend(options.extra_callbacks)
    return callback_list, checkpointer


def _picture_callbacks(parts: Parts, files: RunFiles, meta: dict) -> list[Callback]:
    """What the pictures are drawn from: histograms at the monitor's samples, weight snapshots at epochs."""
    diagnostics, model = parts.config.diagnostics, parts.model
    found: list[Callback] = []
    if diagnostics.monitor and diagnostics.histograms:
        found.append(HistogramLog(files, diagnostics.monitor_every_n_steps))
    wanted = snapshot_rule(parts.config.output.snapshots, parts.data.input_shape, model.param_count)
    if wanted is not None:
        found.append(Snapshots(files, meta, wanted))
    return found


def _finish(parts: Parts, checkpointer: Checkpointer, base: dict, started: float) -> dict:
    """Restore the best weights if asked, score the test split, and assemble the summary."""
    trainer, config, data = parts.trainer, parts.config, parts.data
    es = config.training.early_stopping
    test = None
    if trainer.status in ("completed", "early_stopped"):
        if checkpointer.best_model_tensors is not None and (es is None or es.restore_best):
            trainer.model.load_state_tensors(checkpointer.best_model_tensors)
        elif trainer.ema is not None:  # the final weights are the average's
            trainer.model.load_state_tensors(trainer.kept_weights())
        if data.x_test is not None:
            test = score_split(trainer.model, parts.loss, data.x_test, data.y_test, trainer.classification, data.w_test)
    return _summary(base, trainer, checkpointer, started, status=trainer.status, test=test)


def _summary(base: dict, trainer, checkpointer: Checkpointer, started: float, status: str, test=None) -> dict:
    return {
        **base,
        "status": status,
        "stop_reason": trainer.stop_reason,
        "epochs_run": trainer.epoch,
        "epochs": trainer.epochs,
        "step": trainer.step,
        "best_epoch": checkpointer.best.best_epoch,
        "best": {checkpointer.best.monitor: checkpointer.best.best},
        "final": checkpointer.last_record,
        "test": test,
        "wall_time_s": time.time() - started,
        "pid": os.getpid(),
    }


def _divergence_message(trainer, checkpointer: Checkpointer, config: Config) -> str:
    d = trainer.divergence
    layer = f" (first non-finite value: {d.layer})" if d and d.layer else ""
    last = checkpointer.last_saved_epoch
    where_last = f"last finite checkpoint: epoch {last}" if last else "no checkpoint was saved"
    clip = config.regularization.grad_clip_norm
    also = "or set `regularization.grad_clip_norm`" if clip is None else f"(gradients are clipped to norm {clip:g})"
    return f"{trainer.stop_reason}{layer}; {where_last}; lower `optimizer.lr` ({config.optimizer.lr}) {also}"
