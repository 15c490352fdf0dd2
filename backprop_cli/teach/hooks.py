"""Watching a model work without the layers knowing: every layer's forward and backward, recorded.

`recording(model)` taps every layer (diagnostics/taps.py: the instance's methods are shadowed, the class's
stay as they are) for the duration of a `with` block; a dense or conv2d layer's inner activation is watched too,
so its input is the pre-activation z and its returned gradient is dz.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from backprop_cli.diagnostics.taps import Tap, Taps
from backprop_cli.nn.base import Layer
from backprop_cli.nn.model import walk_layers


@dataclass
class Record:
    """The last forward's input x and output y, the last backward's dy and dx (None: not computed).
    Copies of the arrays, or only their shapes when recording shapes."""

    x: Any = None
    y: Any = None
    dy: Any = None
    dx: Any = None


def watched_layers(model: Layer) -> list[tuple[str, Layer]]:
    """(name, layer) for every layer and part ("0", "3.0", "3.proj") and inner activation ("0.act")."""
    named = []
    for name, layer in walk_layers(model):
        named.append((name, layer))
        if layer.act is not None:
            named.append((f"{name}.act", layer.act))
    return named


def backward_order(model: Layer) -> list[tuple[str, Layer]]:
    """(name, layer) in the order backward meets them: the last top-level layer first; a block before its
    parts (it receives dy, then hands it to its last part), its parts last first."""
    order = []
    for key, top in reversed(model.children()):
        parts = list(walk_layers(top, f"{key}."))
        order += [(key, top), *reversed(parts)]
    return order


def _keep(value, shapes_only: bool):
    if value is None:
        return None
    return tuple(value.shape) if shapes_only else np.array(value, copy=True)


@contextmanager
def recording(model: Layer, shapes_only: bool = False) -> Iterator[dict[str, Record]]:
    """{name: Record}, filled in as forward and backward run inside the block."""
    records = {name: Record() for name, _ in watched_layers(model)}
    taps = [
        Tap(layer, _forward_into(records[name], shapes_only), _backward_into(records[name], shapes_only))
        for name, layer in watched_layers(model)
    ]
    with Taps(taps):
        yield records


def _forward_into(record: Record, shapes_only: bool):
    def keep(x, y):
        record.x, record.y = _keep(x, shapes_only), _keep(y, shapes_only)

    return keep


def _backward_into(record: Record, shapes_only: bool):
    def keep(dy, dx):
        record.dy, record.dx = _keep(dy, shapes_only), _keep(dx, shapes_only)

    return keep
