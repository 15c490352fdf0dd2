"""Taps: watch a layer's forward and backward without the layer knowing.

A tap shadows `forward`/`backward` on the layer *instance* (the class methods stay as they are) and
calls `on_forward(x, y)` after forward, `on_backward(dy, dx)` after backward. Removing the taps puts
back exactly what the instance had before, so taps nest (teach/hooks.py records through them while a
training callback may have its own on the same layers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from backprop_cli.nn.base import Layer

OnForward = Callable[[object, object], None]  # (x, y)
OnBackward = Callable[[object, object], None]  # (dy, dx)


@dataclass
class Tap:
    layer: Layer
    on_forward: OnForward | None = None
    on_backward: OnBackward | None = None


class Taps:
    """Shadowed methods for a list of taps; `install()`/`remove()`, or a `with` block."""

    def __init__(self, taps: Sequence[Tap]):
        self.taps = list(taps)
        self._saved: list[dict] | None = None

    @property
    def installed(self) -> bool:
        return self._saved is not None

    def install(self) -> None:
        self._saved = []
        for tap in self.taps:
            layer = tap.layer
            self._saved.append({k: vars(layer)[k] for k in ("forward", "backward") if k in vars(layer)})
            if tap.on_forward is not None:
                layer.forward = _after_forward(layer.forward, tap.on_forward)
            if tap.on_backward is not None:
                layer.backward = _after_backward(layer.backward, tap.on_backward)

    def remove(self) -> None:
        """Back as before, last tap first: a layer tapped twice gets its original methods back."""
        for tap, saved in reversed(list(zip(self.taps, self._saved or []))):
            vars(tap.layer).pop("forward", None)
            vars(tap.layer).pop("backward", None)
            vars(tap.layer).update(saved)
        self._saved = None

    def __enter__(self) -> Taps:
        self.install()
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _after_forward(forward, on_forward: OnForward):
    def tapped(x, training):
        y = forward(x, training)
        on_forward(x, y)
        return y

    return tapped


def _after_backward(backward, on_backward: OnBackward):
    def tapped(dy):
        dx = backward(dy)
        on_backward(dy, dx)
        return dx

    return tapped
