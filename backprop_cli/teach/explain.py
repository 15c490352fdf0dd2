"""`backprop explain`: the configured network's formulas, shapes, FLOPs and memory, as one plain dict.

Formulas come from each layer's own explain() (and the loss's, the optimizer's, the schedule's);
FLOPs from each layer's flops(batch). Memory is measured, not estimated: a few real training steps
run on rows of the configured data (no run directory, nothing written), and the arrays the layers
hold afterwards are weighed (teach/memory.py). Activations are measured at two small batch sizes and
extended linearly to the configured batch (every cache is an affine function of the batch size), so
explaining a large batch allocates nothing large.
"""

from __future__ import annotations

import math

import numpy as np

from backprop_cli.nn.base import Layer
from backprop_cli.nn.model import _n_params, describe, walk_layers
from backprop_cli.teach.hooks import backward_order, recording
from backprop_cli.teach.memory import kept_bytes, tensor_bytes

MEASURE_ROWS = (4, 8)  # the two batch sizes the activation memory is measured at


def explain_network(config, parts=None) -> dict:
    """Everything `backprop explain` shows, for the config's network at its batch size."""
    from backprop_cli.train.setup import build_parts

    parts = parts or build_parts(config)
    model, loss, trainer = parts.model, parts.loss, parts.trainer
    # the configured batch (with accumulation: one micro-batch, what a forward holds), or the whole training
    # set when it is smaller
    n = min(trainer.micro_batch or trainer.loader.batch_size, trainer.loader.n)
    shapes = _shapes(parts, n)
    kept = _kept_at(parts, n)
    layers = [_layer_row(name, layer, n, shapes, kept) for name, layer in walk_layers(model)]
    _mark_skipped_backward(model, layers)
    top = [row for row in layers if row["depth"] == 0]
    totals = _totals(model, trainer.optimizer, top, kept["loss"])
    return {
        "config": config.name,
        "batch": n,
        "dtype": str(model.dtype),
        "input_shape": [n, *model.input_shape],
        "layers": layers,
        "backward_order": [name for name, _ in backward_order(model)],
        "loss": {
            "type": loss.name,
            "input_shape": [n, *model.output_shape],
            **loss.explain(),
            "kept_bytes": kept["loss"],
        },
        "optimizer": _optimizer(config, trainer.optimizer),
        "schedule": {
            "type": config.schedule.type,
            "rule": trainer.schedule.formula(),
            "lr_at_step_1": trainer.schedule.lr_at(0, 0),
        },
        "totals": totals,
    }


def _shapes(parts, n: int) -> dict[str, tuple]:
    """{layer name: (input shape, output shape)} with the batch axis set to n, from one real forward."""
    x = parts.data.x_train[:2]
    with recording(parts.model, shapes_only=True) as records:
        parts.model.forward(x, training=False)
    return {name: ((n, *r.x[1:]), (n, *r.y[1:])) for name, r in records.items() if r.x is not None}


def _kept_at(parts, n: int) -> dict[str, int]:
    """{layer name or "loss": bytes kept for backward} at batch n, measured after real training steps."""
    model, trainer = parts.model, parts.trainer
    holders = [*walk_layers(model), ("loss", parts.loss)]
    rows = [r for r in MEASURE_ROWS if r < n] if n > MEASURE_ROWS[-1] else [n]
    measured = []
    for r in rows:
        xb = np.ascontiguousarray(parts.data.x_train[:r])  # a batch of its own, as the loader gives
        trainer.train_step(xb, np.ascontiguousarray(parts.data.y_train[:r]))
        measured.append(kept_bytes(holders))
    if len(measured) == 1:
        return measured[0]
    (r1, k1), (r2, k2) = zip(rows, measured)
    return {name: k1[name] + (k2[name] - k1[name]) * (n - r1) // (r2 - r1) for name in k1}


def _layer_row(name: str, layer: Layer, n: int, shapes: dict, kept: dict) -> dict:
    inside = [layer, *(part for _, part in walk_layers(layer))]  # a block's bytes include its parts'
    fwd, bwd = layer.flops(n)
    x_shape, y_shape = shapes.get(name, (None, None))
    return {
        "name": name,
        "depth": name.count("."),
        "type": describe(layer),
        "input_shape": list(x_shape) if x_shape else None,
        "output_shape": list(y_shape) if y_shape else None,
        "params": {key: list(p.shape) for key, p in layer.params.items()},
        **layer.explain(),
        "flops": {"forward": fwd, "backward": bwd},
        "param_bytes": tensor_bytes(p for part in inside for p in part.params.values()),
        "state_bytes": tensor_bytes(t for part in inside for t in part.state.values()),
        "kept_bytes": sum(v for k, v in kept.items() if k == name or k.startswith(f"{name}.")),
    }


def _mark_skipped_backward(model, layers: list[dict]) -> None:
    """Training backpropagates from the last layer down to the first that has parameters, no further."""
    first = next((i for i, layer in enumerate(model.layers) if _n_params(layer)), len(model.layers))
    for row in layers:
        if int(row["name"].split(".")[0]) < first:
            row["backward"] = ["not run in training: no layer before it has parameters and the data needs no gradient"]
            row["flops"]["backward"] = 0


def _totals(model, optimizer, top: list[dict], loss_kept: int) -> dict:
    params = tensor_bytes(p for _, p, _ in model.named_params())
    state = sum(row["state_bytes"] for row in top)
    optimizer_state = tensor_bytes(optimizer.state_dict().values())  # what a checkpoint stores under optimizer.*
    work = len(type(optimizer).scratch_names) * model.flat_params.nbytes  # the update's scratch buffers
    activations = sum(row["kept_bytes"] for row in top) + loss_kept
    forward = sum(row["flops"]["forward"] for row in top)
    backward = sum(row["flops"]["backward"] for row in top)
    return {
        "param_count": model.param_count,
        "flops_forward": forward,
        "flops_backward": backward,
        "flops_step": forward + backward,
        "param_bytes": params,
        "grad_bytes": params,
        "state_bytes": state,
        "optimizer_state_bytes": optimizer_state,
        "optimizer_work_bytes": work,
        "activation_bytes": activations,
        "step_bytes": params * 2 + state + optimizer_state + work + activations,
    }


def _optimizer(config, optimizer) -> dict:
    spec = config.optimizer.model_dump()
    return {
        "type": spec.pop("type"),
        "rule": optimizer.explain(),
        "hyperparameters": spec,
        "regularization": {k: v for k, v in config.regularization.model_dump().items() if v},
    }


def per_example(shape) -> str:
    """(N, 784) -> "N×784"; None -> "?"."""
    return "?" if shape is None else "×".join(["N", *map(str, shape[1:])])


def human_bytes(n: int) -> str:
    """1536 -> "1.5 KiB"."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n}"


def human_count(n: int) -> str:
    """1_234_567 -> "1.23 M"."""
    if n < 1000:
        return str(n)
    exp = min(int(math.log10(n)) // 3, 4)
    return f"{n / 10 ** (3 * exp):.3g} {' kMGT'[exp]}"
