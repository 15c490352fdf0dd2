"""Bytes a training step holds: measured on the arrays themselves, never estimated from formulas.

What a layer keeps for backward is whatever arrays it holds between forward and backward: its own
attributes (not params, grads or state) and its inner activation's. An array that several layers hold
(a sigmoid's output is the next dense layer's input) is counted once, for the first layer that holds it.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.nn.base import Layer

OWN_TABLES = ("params", "grads", "state")  # counted as parameters, gradients and state, not as activations


def held_arrays(layer: Layer) -> list[np.ndarray]:
    """The arrays `layer` holds in its attributes (and inside lists and tuples, such as (image, top, left)),
    its inner activation's too; its children (listed by children()) are measured on their own."""
    children = {id(child) for _, child in layer.children()}
    found: list[np.ndarray] = []
    for key, value in vars(layer).items():
        if key in OWN_TABLES:
            continue
        if isinstance(value, np.ndarray):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(v for v in value if isinstance(v, np.ndarray))
        elif isinstance(value, Layer) and id(value) not in children:
            found.extend(held_arrays(value))  # an inner activation: part of this layer
    return found


def _owner(a: np.ndarray):
    """The object whose memory a view shares (NumPy points a view's .base at the owner directly)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a if a.base is None else a.base


def kept_bytes(holders: list[tuple[str, object]]) -> dict[str, int]:
    """{name: bytes} of what each (name, layer or loss) holds, each buffer counted once: for the first holder
    (in the order given), at the size of the largest view of it that anyone holds."""
    first_holder: dict[int, str] = {}
    size: dict[int, int] = {}
    for name, holder in holders:
        for a in held_arrays(holder) if isinstance(holder, Layer) else _plain_arrays(holder):
            key = id(_owner(a))
            first_holder.setdefault(key, name)
            size[key] = max(size.get(key, 0), a.nbytes)
    totals = dict.fromkeys((name for name, _ in holders), 0)
    for key, name in first_holder.items():
        totals[name] += size[key]
    return totals


def _plain_arrays(obj) -> list[np.ndarray]:
    """The arrays a non-layer object (a loss) holds in its attributes."""
    return [v for v in vars(obj).values() if isinstance(v, np.ndarray)]


def tensor_bytes(tensors) -> int:
    """Bytes of the tensors themselves (a model's flat buffer adds alignment padding between them)."""
    return sum(int(t.nbytes) for t in tensors)
