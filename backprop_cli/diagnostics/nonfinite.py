"""Where a NaN or an infinity first appeared, for the divergence message. Runs once, after the fact.

In the order the values were made: the weights (an earlier step's update), the forward pass (replayed
layer by layer on the batch that diverged: an overflow shows in the first layer whose output is
non-finite), then the backward pass (the gradient nearest the output, where backpropagation starts).
"""

from __future__ import annotations

import numpy as np

from backprop_cli.nn.model import describe


def _finite(a) -> bool:
    return a is None or bool(np.isfinite(a).all())


def locate_nonfinite(model, x: np.ndarray | None = None) -> str | None:
    """Where, as "layer 2 (dense) weights", "layer 0 (dense(relu)) output" or "layer 1 (dense) gradients"."""
    layers = dict(model.named_layers())
    for name, p, _ in model.named_params():
        if not _finite(p):
            layer = name.rsplit(".", 1)[0]
            return f"layer {layer} ({describe(layers[layer])}) weights"
    if x is not None:
        found = _first_bad_output(model, x)
        if found is not None:
            return found
    for name, _, g in reversed(list(model.named_params())):
        if not _finite(g):
            layer = name.rsplit(".", 1)[0]
            return f"layer {layer} ({describe(layers[layer])}) gradients"
    return None


def _first_bad_output(model, x: np.ndarray) -> str | None:
    """Replay the forward pass in training mode; running statistics are put back afterwards."""
    saved = {k: t.copy() for k, t in model.state_tensors().items()}
    try:
        with np.errstate(all="ignore"):
            h = np.asarray(x, dtype=model.dtype)
            for i, layer in enumerate(model.layers):
                h = layer.forward(h, True)
                if not _finite(h):
                    return f"layer {i} ({describe(layer)}) output"
    finally:
        model.load_state_tensors(saved)
    return None
