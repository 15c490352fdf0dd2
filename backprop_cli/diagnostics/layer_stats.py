"""Per-layer statistics of gradient flow, read from what the last training step left behind.

Nothing here runs a pass of its own: gradient and weight norms are dot products over each layer's
span of the model's flat buffers, activation statistics reductions over the caches the activation
layers keep for backward (relu's mask, sigmoid's and tanh's outputs). Taken once per epoch (or
every N steps), the whole sample costs about one optimizer step.

    grad_norm           |dL/dθ| over the layer's parameters, from the last batch
    weight_norm         |θ|
    update_ratio        |Δθ| / |θ| of the last step (None without a snapshot from before it)
    dead_fraction       relu units that were 0 for every example of the batch (per channel for images)
    saturated_fraction  sigmoid/tanh activations whose derivative was below 0.01
    time_grad_norm      recurrent layers only: {first, middle, last} |dL/dh_t| reaching the hidden state
                        at those steps (the forward direction), which the layer's backward noted
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from backprop_cli.nn.core.activations import ReLU, Sigmoid, Tanh
from backprop_cli.nn.registry import layer_name

SATURATED_DERIVATIVE = 0.01
UNIT_AXIS = {"dense": -1, "conv2d": 0}  # where a layer's weight tensor W lists its units (columns, filters)


def _dead_fraction(act) -> float | None:
    mask = getattr(act, "_mask", None)  # x > 0, (N, units) or (N, C, H, W)
    if mask is None:
        return None
    axes = tuple(a for a in range(mask.ndim) if a != 1)
    units = mask.shape[1]
    return (units - int(np.count_nonzero(mask.any(axis=axes)))) / units


def _saturated_fraction(derivative):
    def fraction(act) -> float | None:
        y = getattr(act, "_y", None)  # the output, which the derivative is written in
        return None if y is None else float(np.count_nonzero(derivative(y) < SATURATED_DERIVATIVE)) / y.size

    return fraction


ACTIVATION_STATS = {  # activation class -> (statistic, how to read it from the layer's cache)
    ReLU: ("dead_fraction", _dead_fraction),
    Sigmoid: ("saturated_fraction", _saturated_fraction(lambda y: y * (1.0 - y))),
    Tanh: ("saturated_fraction", _saturated_fraction(lambda y: 1.0 - y * y)),
}


@dataclass
class Watched:
    """A layer with parameters: its spans of the flat buffers, its W (if any) and its activation."""

    name: str
    spans: list[slice]
    W: np.ndarray | None  # the units' incoming weights, for the symmetry check
    unit_axis: int | None
    activation: object | None  # the activation layer whose cache tells dead or saturated units
    recurrent: object | None = None  # the layer, whose backward may note time_grad_norm (rnn, lstm, gru)


def watch(model) -> list[Watched]:
    """The model's layers with parameters, in order; a standalone activation layer is read as part of
    the nearest layer with parameters before it (dense -> batchnorm -> relu: batchnorm's units)."""
    watched: list[Watched] = []
    for name, layer in model.named_layers():
        if layer.params:
            kind = layer_name(layer)
            axis = UNIT_AXIS.get(kind) if "W" in layer.params else None
            spans = [model.param_slices[f"{name}.{key}"] for key in layer.params]
            watched.append(Watched(name, spans, layer.params.get("W"), axis, layer.act, layer))
        elif type(layer) in ACTIVATION_STATS and watched and watched[-1].activation is None:
            watched[-1].activation = layer
    return watched


def _norm(flat: np.ndarray, spans: list[slice]) -> float:
    return math.sqrt(sum(float(np.dot(flat[s], flat[s])) for s in spans))


def layer_stats(model, watched: list[Watched], before_step: np.ndarray | None) -> dict[str, dict]:
    """{layer name: the five statistics} from the model's current buffers and caches."""
    stats = {}
    for w in watched:
        weight_norm = _norm(model.flat_params, w.spans)
        entry = {"grad_norm": _norm(model.flat_grads, w.spans), "weight_norm": weight_norm,
                 "update_ratio": None, "dead_fraction": None, "saturated_fraction": None}  # fmt: skip
        if before_step is not None and weight_norm > 0:
            delta = math.sqrt(sum(float(np.sum((model.flat_params[s] - before_step[s]) ** 2)) for s in w.spans))
            entry["update_ratio"] = delta / weight_norm
        if w.activation is not None and type(w.activation) in ACTIVATION_STATS:
            key, read = ACTIVATION_STATS[type(w.activation)]
            entry[key] = read(w.activation)
        if w.recurrent is not None and w.recurrent.time_grad_norm is not None:
            entry["time_grad_norm"] = dict(w.recurrent.time_grad_norm)
        stats[w.name] = entry
    return stats


def identical_units(w: Watched) -> bool:
    """Whether every unit of the layer has the same incoming weights (more than one unit)."""
    if w.W is None or w.unit_axis is None:
        return False
    units = np.moveaxis(w.W, w.unit_axis, 0).reshape(w.W.shape[w.unit_axis], -1)  # (units, fan_in)
    if len(units) < 2:
        return False
    scale = float(np.abs(units).max(initial=0.0))
    return float(np.abs(units - units[0]).max(initial=0.0)) <= 1e-6 * scale  # zero weights are identical too
