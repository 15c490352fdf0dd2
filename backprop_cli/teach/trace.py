"""`backprop trace`: every number of N training steps on the first R rows, as one plain dict.

A real step of the real trainer (penalties, clipping, the optimizer, the schedule), watched through
teach/hooks.py: each layer's input, pre-activation z and output, the loss, every gradient on the way
back (dy, dz, the parameters' gradients, dx), and each parameter before and after the update. The
first layer's dx is computed too (training skips it: the data needs no gradient). Tensors with more
than `max_entries` numbers are summarised (shape, the first few entries, norm) unless `full`.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.nn.model import describe, walk_layers
from backprop_cli.teach.hooks import backward_order, recording

ROWS_CAP = 4  # the default number of rows: the configured batch, at most this many
MAX_ENTRIES = 64  # a tensor with more numbers than this is summarised
HEAD = 8  # entries a summary shows


def run_trace(config, steps: int = 1, rows: int | None = None, full: bool = False, parts=None) -> dict:
    """`steps` training steps on the first `rows` training rows, every number recorded."""
    from backprop_cli.train.setup import build_parts

    parts = parts or build_parts(config)
    trainer, model, data = parts.trainer, parts.model, parts.data
    wanted = rows if rows is not None else min(trainer.loader.batch_size, ROWS_CAP)
    r = min(wanted, len(data.x_train))
    x, y = np.ascontiguousarray(data.x_train[:r]), np.ascontiguousarray(data.y_train[:r])
    model.input_grad = True  # show dL/dx of the first layer too
    tensors = _Summariser(MAX_ENTRIES, full)
    trace = {
        "config": config.name,
        "rows": r,
        "batch_size": trainer.loader.batch_size,
        "rows_capped": rows is None and r < trainer.loader.batch_size,
        "rows_requested": rows,  # more than the training split has: fewer are traced, and the CLI says so
        "inputs": tensors("x", x),
        "targets": tensors("t", y),
        "steps": [],
    }
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a divergence is shown, not warned
        for _ in range(steps):
            trace["steps"].append(_one_step(trainer, model, x, y, tensors))
            if trainer.status == "diverged":
                break
    trace["diverged"] = trainer.status == "diverged"
    trace["summarised"] = tensors.summarised
    return trace


def _one_step(trainer, model, x, y, tensors) -> dict:
    before = {name: p.copy() for name, p, _ in model.named_params()}
    with recording(model) as records:
        loss = trainer.train_step(x, y)
    step = {"step": trainer.step, "lr": float(trainer.lr), "loss": float(loss), "forward": [], "backward": []}
    for name, layer in walk_layers(model):
        rec, act = records[name], records.get(f"{name}.act")
        row = {"name": name, "type": describe(layer), "x": tensors(f"{name}.x", rec.x)}
        if act is not None:
            row["z"] = tensors(f"{name}.z", act.x)  # the pre-activation: what the inner activation received
        row["y"] = tensors(f"{name}.y", rec.y)
        step["forward"].append(row)
    for name, layer in backward_order(model):
        rec, act = records[name], records.get(f"{name}.act")
        row = {"name": name, "type": describe(layer), "dy": tensors(f"{name}.dy", rec.dy)}
        if act is not None:
            row["dz"] = tensors(f"{name}.dz", act.dx)
        row["grads"] = {key: tensors(f"{name}.d{key}", g) for key, g in layer.grads.items()}
        row["dx"] = tensors(f"{name}.dx", rec.dx)
        step["backward"].append(row)
    step["dL_dpred"] = step["backward"][0]["dy"] if step["backward"] else None
    step["params"] = [
        {"name": name, "before": tensors(f"{name} before", before[name]), "after": tensors(f"{name} after", p)}
        for name, p, _ in model.named_params()
    ]
    return step


class _Summariser:
    """A tensor as {"shape", "values"} when small (or `full`), else {"shape", "first", "norm", "min", "max"};
    remembers which names it summarised, so that the caller can say so."""

    def __init__(self, max_entries: int, full: bool):
        self.max_entries, self.full = max_entries, full
        self.summarised: dict[str, list[int]] = {}

    def __call__(self, name: str, a) -> dict | None:
        if a is None:
            return None
        a = np.asarray(a)
        shape = list(a.shape)
        if self.full or a.size <= self.max_entries:
            return {"shape": shape, "values": a.tolist()}
        base = name.split(" ")[0]
        self.summarised.setdefault(base, shape)
        flat = a.reshape(-1)
        as_float = flat.astype(np.float64)
        return {
            "shape": shape,
            "first": flat[:HEAD].tolist(),
            "norm": float(np.linalg.norm(as_float)),
            "min": float(as_float.min()),
            "max": float(as_float.max()),
        }
