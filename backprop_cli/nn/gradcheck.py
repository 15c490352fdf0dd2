"""Finite-difference gradient checking: every analytic gradient against central differences, in float64.

The scalar checked is the loss when one is given, else a random projection sum(y * R), which
exercises every output; for the projection the outputs are differenced before they are summed,
(sum((y+ - y-) * R)), so that outputs a perturbation does not touch cancel exactly. The generator's
state is restored before each forward pass: a dropout layer built with it replays the same mask.

Relative error = |a - n| / max(|a| + |n|, tiny), with a floor `tiny` of FLOOR times the largest
|a| + |n| in the same tensor: an entry whose true gradient is ~0 is judged against its tensor's
scale, not against finite-difference rounding noise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from backprop_cli.nn.base import Layer
from backprop_cli.nn.losses import Loss
from backprop_cli.nn.model import walk_layers

FLOOR = 1e-2  # of the tensor's largest |a| + |n|: small entries are judged at 1% of its scale
TINY = 1e-12  # absolute floor, for tensors whose gradient is ~0 everywhere
AUX_SEED = 0x6772_6164  # the projection R and the sampled coordinates; distinct from seeds users pick


@dataclass(frozen=True)
class GradCheckEntry:
    """One checked tensor: its dotted name ("0.W", or "x" for the input) and its worst disagreements."""

    name: str
    shape: tuple[int, ...]
    n_checked: int
    max_abs_error: float
    max_rel_error: float


def relative_error(a: np.ndarray, n: np.ndarray) -> np.ndarray:
    """|a - n| / max(|a| + |n|, tiny) elementwise, tiny = max(FLOOR * max(|a| + |n|), TINY)."""
    size = np.abs(a) + np.abs(n)
    tiny = max(FLOOR * float(size.max(initial=0.0)), TINY)
    return np.abs(a - n) / np.maximum(size, tiny)


def check_gradients(
    layer: Layer,
    x: np.ndarray,
    rng: np.random.Generator,
    loss: Loss | None = None,
    target: np.ndarray | None = None,
    eps: float = 1e-5,
    max_coords: int | None = None,
) -> dict[str, float]:
    """Max relative error per parameter ("0.W", "3.proj.b", ...) and for the input "x".

    gradient_check_entries gives the full picture (shapes, counts, absolute errors).
    """
    entries = gradient_check_entries(layer, x, rng, loss=loss, target=target, eps=eps, max_coords=max_coords)
    return {e.name: e.max_rel_error for e in entries}


def gradient_check_entries(
    layer: Layer,
    x: np.ndarray,
    rng: np.random.Generator,
    loss: Loss | None = None,
    target: np.ndarray | None = None,
    eps: float = 1e-5,
    max_coords: int | None = None,
    training: bool = True,
) -> list[GradCheckEntry]:
    """Compare `layer.backward` (of a layer or a whole built Model) with central differences.

    The layer must be built in float64. eps = 1e-5 balances truncation (~eps^2) against rounding
    (~1e-16 / eps) for functions of order 1; `max_coords` samples at most that many coordinates per
    tensor (with a fixed seed), for models too large to check entry by entry. State tensors (batchnorm's
    running statistics) are restored afterwards.
    """
    tensors = list(_named_params(layer))
    for name, p, _ in tensors:
        if p.dtype != np.float64:
            raise TypeError(f"gradient checks need float64 parameters; {name} is {p.dtype} (build in float64)")
    input_grad, layer.input_grad = layer.input_grad, True  # a model skips dL/dx unless asked; the check wants it
    try:
        return _entries(layer, tensors, x, rng, loss, target, eps, max_coords, training)
    finally:
        layer.input_grad = input_grad


def _entries(layer, tensors, x, rng, loss, target, eps, max_coords, training) -> list[GradCheckEntry]:
    x = np.array(x, dtype=np.float64)  # our own copy: its entries are perturbed below
    aux = np.random.default_rng(AUX_SEED)  # projection, sampling: the caller's generator stays untouched
    state = rng.bit_generator.state
    saved = [(t, t.copy()) for _, part in [("", layer), *walk_layers(layer)] for t in part.state.values()]

    def value() -> np.ndarray:
        """The loss (0-d), or a copy of the output (forward may return a view of x, which we perturb)."""
        rng.bit_generator.state = state  # dropout draws the same mask every time
        y = layer.forward(x, training)
        return np.array(loss.forward(y, target) if loss is not None else y, dtype=np.float64)

    y = value()
    if loss is None:
        weights = dy = aux.standard_normal(y.shape)  # d sum(y * R) / dy = R
    else:
        weights, dy = 1.0, loss.backward()
    dx = np.array(layer.backward(dy), dtype=np.float64)
    analytic = [(name, p, g.copy()) for name, p, g in tensors] + [("x", x, dx)]
    entries = [_check_tensor(name, p, g, value, weights, eps, max_coords, aux) for name, p, g in analytic]
    rng.bit_generator.state = state
    for t, copy in saved:
        t[...] = copy
    return entries


def _named_params(layer: Layer):
    for name, part in [("", layer), *walk_layers(layer)]:
        for key, p in part.params.items():
            yield (f"{name}.{key}" if name else key), p, part.grads[key]


def perturbed(p: np.ndarray, coords: np.ndarray, eps: float, f: Callable[[], Any]) -> Iterator[tuple[Any, Any]]:
    """For each flat index in coords: (f with that entry of p raised by eps, f with it lowered by eps).

    p is changed in place and always restored, also when f raises or the caller stops early.
    """
    for flat in coords:
        idx = np.unravel_index(flat, p.shape)
        old = p[idx]
        try:
            p[idx] = old + eps
            f_plus = f()
            p[idx] = old - eps
            f_minus = f()
        finally:
            p[idx] = old
        yield f_plus, f_minus


def _check_tensor(name, p, g, f: Callable[[], np.ndarray], weights, eps, max_coords, aux) -> GradCheckEntry:
    """Perturb each (or each sampled) entry of p by ±eps in place; compare sum((f+ - f-) w) / 2 eps with g."""
    coords = np.arange(p.size)
    if max_coords is not None and p.size > max_coords:
        coords = np.sort(aux.choice(p.size, size=max_coords, replace=False))
    numeric = np.empty(len(coords))
    for j, (f_plus, f_minus) in enumerate(perturbed(p, coords, eps, f)):
        numeric[j] = float(np.sum((f_plus - f_minus) * weights)) / (2.0 * eps)
    a = g.reshape(-1)[coords]
    return GradCheckEntry(
        name, tuple(p.shape), len(coords), _max(np.abs(a - numeric)), _max(relative_error(a, numeric))
    )


def _max(errors: np.ndarray) -> float:
    return float(errors.max()) if errors.size else 0.0
