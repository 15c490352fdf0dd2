"""A sweep's trials: every combination of a grid, or `trials` draws of a seeded random search."""

from __future__ import annotations

import copy
import itertools
import math
from typing import Any

import numpy as np

from backprop_cli.many.spec import Distribution, SweepSpec


def expand(spec: SweepSpec) -> list[dict[str, Any]]:
    """One {dotted key: value} per trial, keys in the sweep file's order; the same list on every call."""
    keys = list(spec.parameters)
    if spec.method == "grid":
        combos = itertools.product(*(spec.parameters[k] for k in keys))  # the last key varies fastest
        return [dict(zip(keys, copy.deepcopy(values))) for values in combos]
    rng = np.random.default_rng(spec.seed)
    return [{k: draw(spec.parameters[k], rng) for k in keys} for _ in range(spec.trials)]


def draw(space: list[Any] | Distribution, rng: np.random.Generator) -> Any:
    """One value: a list is a uniform choice; numbers come back as plain Python ints and floats."""
    if isinstance(space, list):
        return copy.deepcopy(space[int(rng.integers(len(space)))])
    kind = space.distribution
    if kind == "choice":
        return copy.deepcopy(space.values[int(rng.integers(len(space.values)))])
    if kind == "int_uniform":
        return int(rng.integers(int(space.low), int(space.high) + 1))  # high included
    if kind == "log_uniform":
        return float(math.exp(rng.uniform(math.log(space.low), math.log(space.high))))
    return float(rng.uniform(space.low, space.high))
