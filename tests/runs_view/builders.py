"""Realistic run directories written with the runs library, in the states a reader meets them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from backprop_cli.runs.atomic import atomic_write_text
from backprop_cli.runs.metrics_log import append_metrics
from backprop_cli.runs.rundir import RunFiles
from backprop_cli.runs.summary import write_summary

BASE_CONFIG: dict[str, Any] = {
    "name": "mlp",
    "seed": 0,
    "data": {"dataset": "digits", "path": None, "validation_split": 0.2, "scale": "standard"},
    "model": {
        "layers": [
            {
                "type": "dense",
                "units": 64,
                "activation": "sigmoid",
                "init": "xavier_normal",
                "init_scale": 0.05,
                "use_bias": True,
            },
            {"type": "dropout", "rate": 0.2},
            {"type": "residual", "layers": [{"type": "dense", "units": 64, "activation": "relu", "init": None}]},
            {"type": "dense", "units": 10, "activation": None, "init": None, "init_scale": 0.05, "use_bias": True},
        ]
    },  # fmt: skip
    "loss": {"type": "cross_entropy", "delta": 1.0},
    "optimizer": {"type": "adam", "lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    "schedule": {"type": "cosine"},
    "regularization": {"l1": 0.0, "l2": 0.0001, "grad_clip_norm": None, "grad_clip_value": None},
    "training": {"epochs": 5, "batch_size": 32, "dtype": "float32", "early_stopping": None},
    "output": {"runs_dir": "runs", "checkpoint_every": 1},
}
LAYER_NAMES = ("0", "2.0", "3")  # dense, the dense inside the residual block, the output dense


def config(**changes: Any) -> dict[str, Any]:
    """BASE_CONFIG with dotted keys replaced: config(**{"optimizer.lr": 0.01})."""
    result = copy.deepcopy(BASE_CONFIG)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = result
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value
    return result


def epoch_record(epoch: int, lr: float = 0.001, scale: float = 1.0) -> dict[str, Any]:
    """One line of metrics.jsonl: losses falling, accuracy rising, gradients shrinking towards the input."""
    train_loss = scale * 2.0 * 0.6**epoch
    layers = {
        name: {"grad_norm": 0.5 * 10.0 ** (depth - 2) / epoch, "weight_norm": 3.0 + depth + 0.1 * epoch,
               "update_ratio": 1e-3 / epoch, "dead_fraction": 0.1 * depth, "saturated_fraction": None}
        for depth, name in enumerate(LAYER_NAMES)
    }  # fmt: skip
    return {
        "epoch": epoch, "step": 10 * epoch, "lr": lr, "train_loss": train_loss,
        "train_accuracy": 1.0 - train_loss / 3, "val_loss": train_loss * 1.1 + 0.05,
        "val_accuracy": 0.95 - train_loss / 3, "epoch_time_s": 0.25, "grad_norm": 1.5 / epoch, "layers": layers,
    }  # fmt: skip


def write_run(
    runs_dir: Path,
    name: str = "mlp",
    stamp: str = "20260101-120000",
    suffix: str = "ab12",
    epochs: int = 5,
    status: str | None = "completed",
    cfg: dict[str, Any] | None = None,
    test: dict[str, float] | None = None,
    warnings: list[str] | None = None,
    scale: float = 1.0,
) -> Path:
    """A run directory named like the trainer names one; `status=None` leaves out summary.json."""
    run_dir = runs_dir / f"{name}-{stamp}-{suffix}"
    (run_dir / "checkpoints").mkdir(parents=True)
    cfg = cfg if cfg is not None else config(name=name)
    atomic_write_text(RunFiles(run_dir).config, yaml.safe_dump(cfg, sort_keys=False))
    records = [epoch_record(e, cfg["optimizer"]["lr"], scale) for e in range(1, epochs + 1)]
    for record in records:
        append_metrics(RunFiles(run_dir).metrics, record)
    if status is not None:
        write_summary(run_dir, summary(run_dir, cfg, records, status, test, warnings))
    return run_dir


def summary(run_dir, cfg, records, status, test=None, warnings=None) -> dict[str, Any]:
    """What the trainer writes, best epoch by val_loss."""
    best = min(records, key=lambda r: r["val_loss"]) if records else None
    result = {
        "run_dir": str(run_dir), "name": cfg["name"], "threads": 1, "status": status,
        "stop_reason": "patience ran out" if status == "early_stopped" else None,
        "epochs_run": len(records), "epochs": cfg["training"]["epochs"], "step": 10 * len(records),
        "best_epoch": best["epoch"] if best else None, "best": {"val_loss": best["val_loss"] if best else None},
        "final": records[-1] if records else None, "test": test, "wall_time_s": 0.25 * len(records) + 0.1,
    }  # fmt: skip
    if warnings is not None:
        result["warnings"] = warnings
    return result


def tear_last_line(run_dir: Path) -> None:
    """What a SIGKILL in the middle of an append leaves: half a JSON line, no newline."""
    with open(RunFiles(run_dir).metrics, "a", encoding="utf-8") as f:
        f.write('{"epoch": 99, "step": 990, "train_lo')
