"""`runs show`: one run described as data: its config in a few lines, its outcome, a loss sparkline."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from backprop_cli.runs.listing import Run, as_number, best_of, epochs_of, final_record, warnings_of

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 60
# Values the schema fills in by default: left out of a layer's one-line description.
_QUIET = {"use_bias": True, "momentum": 0.9, "eps": 1e-5, "activation": "linear"}
_BARE = ("units", "activation", "init")  # shown without their key: "dense 64 relu he_normal"
_SCALED_INITS = ("normal", "uniform", "constant")  # the only inits that read init_scale


def describe_layer(spec: Any) -> str:
    """A layer spec in one line: "dense 64 relu he_normal", "dropout rate=0.2", "residual[dense 64 relu]"."""
    if not isinstance(spec, dict):
        return str(spec)
    words = [str(spec.get("type", "?"))]
    for key, value in spec.items():
        if key in ("type", "layers") or value is None or _QUIET.get(key, object()) == value:
            continue
        if key == "init_scale" and spec.get("init") not in _SCALED_INITS:
            continue
        words.append(str(value) if key in _BARE else f"{key}={value}")
    inner = spec.get("layers")
    if isinstance(inner, list):
        words[0] += "[" + ", ".join(describe_layer(s) for s in inner) + "]"
    return " ".join(words)


def describe_part(part: Any, skip: Sequence[str] = ()) -> str:
    """A config section in one line: "adam lr=0.002 beta1=0.9", its non-null settings after its type."""
    if not isinstance(part, dict):
        return "none" if part is None else str(part)
    head = [str(part["type"])] if "type" in part else []
    rest = [f"{k}={v}" for k, v in part.items() if k != "type" and k not in skip and v is not None]
    return " ".join(head + rest) or "none"


def _regularization(reg: Any) -> str:
    if not isinstance(reg, dict):
        return "none"
    used = [f"{k}={v}" for k, v in reg.items() if v not in (None, 0, 0.0, False)]
    return " ".join(used) or "none"


def _data(data: Any) -> str:
    if not isinstance(data, dict):
        return "?"
    source = data.get("dataset") or data.get("path") or "?"
    extra = [f"{k}={data[k]}" for k in ("validation_split", "scale") if data.get(k) is not None]
    return " ".join([str(source), *extra])


def config_summary(config: dict[str, Any]) -> dict[str, Any]:
    """The settings a reader looks for first, each as a short string (layers one per line)."""
    training = config.get("training") if isinstance(config.get("training"), dict) else {}
    layers = (config.get("model") or {}).get("layers") if isinstance(config.get("model"), dict) else None
    loss = config.get("loss")
    return {
        "data": _data(config.get("data")),
        "layers": [describe_layer(s) for s in layers] if isinstance(layers, list) else [],
        "loss": describe_part(loss, skip=() if _type(loss) == "huber" else ("delta",)),
        "optimizer": describe_part(config.get("optimizer")),
        "schedule": describe_part(config.get("schedule")),
        "regularization": _regularization(config.get("regularization")),
        "epochs": training.get("epochs"),
        "batch_size": training.get("batch_size"),
        "early_stopping": describe_part(training.get("early_stopping")),
        "seed": config.get("seed"),
    }


def _type(part: Any) -> Any:
    return part.get("type") if isinstance(part, dict) else part


def _buckets(values: list[float | None], width: int) -> list[float | None]:
    """At most `width` values: consecutive ones averaged (gaps ignored) when there are more."""
    if len(values) <= width:
        return values
    out = []
    for i in range(width):
        chunk = [v for v in values[i * len(values) // width : (i + 1) * len(values) // width] if v is not None]
        out.append(sum(chunk) / len(chunk) if chunk else None)
    return out


def spans_decades(values: Sequence[Any], ratio: float = 100.0) -> bool:
    """True when the finite values are all positive and span `ratio` or more: a log scale shows them better."""
    finite = [v for v in (as_number(x) for x in values) if v is not None]
    return bool(finite) and min(finite) > 0 and max(finite) >= ratio * min(finite)


def sparklines(series: dict[str, Sequence[Any]], width: int = SPARK_WIDTH, log: bool = False) -> dict[str, str]:
    """One sparkline per series, all on one shared scale (log10 if `log`) so that they compare; a gap is a space."""
    clean = {k: _buckets([as_number(v) for v in vs], width) for k, vs in series.items()}
    if log:
        clean = {k: [math.log10(v) if v is not None and v > 0 else None for v in vs] for k, vs in clean.items()}
    finite = [v for vs in clean.values() for v in vs if v is not None]
    if not finite:
        return {k: " " * len(vs) for k, vs in clean.items()}
    low, high = min(finite), max(finite)
    top = len(SPARK_BLOCKS) - 1

    def block(v: float | None) -> str:
        if v is None:
            return " "
        level = 0 if high == low else math.floor((v - low) / (high - low) * top + 0.5)
        return SPARK_BLOCKS[level]

    return {k: "".join(block(v) for v in vs) for k, vs in clean.items()}


def loss_history(run: Run) -> dict[str, list[float | None]]:
    """train_loss and (when any epoch has one) val_loss, per epoch."""
    history = {key: [as_number(r.get(key)) for r in run.metrics] for key in ("train_loss", "val_loss")}
    return {k: vs for k, vs in history.items() if any(v is not None for v in vs)}


def show_run(run: Run) -> dict[str, Any]:
    """Everything `runs show` prints, as JSON-able data."""
    summary = run.summary or {}
    monitor, value, epoch = best_of(run)
    done, total = epochs_of(run)
    history = loss_history(run)
    log = spans_decades([v for vs in history.values() for v in vs])
    return {
        "run": run.dir_name,
        "path": str(run.path),
        "name": run.name,
        "status": run.listed_status,
        "problems": run.problems,
        "stop_reason": summary.get("stop_reason"),
        "started": run.started.isoformat() if run.started else None,
        "wall_time_s": as_number(summary.get("wall_time_s")),
        "epochs_run": done,
        "epochs": total,
        "config": config_summary(run.config),
        "final": final_record(run),
        "best_epoch": epoch,
        "best": {monitor: value} if monitor else {},
        "test": summary.get("test") if isinstance(summary.get("test"), dict) else None,
        "warnings": warnings_of(run),
        "loss_history": history,
        "sparklines": sparklines(history, log=log),
        "sparkline_scale": "log" if log else "linear",
    }
