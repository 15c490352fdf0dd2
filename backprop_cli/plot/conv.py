"""`--view filters` and `--view feature-maps` for image models with conv2d layers.

filters: the first conv2d layer's kernels as small images (one per filter; an RGB input's three
channels as colour, otherwise each input channel's mean), on a diverging scale centred at zero.
feature-maps: one input of the scored split and what each conv2d layer makes of it (its outputs after
the activation, the first MAX_MAPS channels), read through taps during one forward pass.
"""

from __future__ import annotations

import math

import numpy as np

from backprop_cli.diagnostics.taps import Tap, Taps
from backprop_cli.errors import UserError
from backprop_cli.nn.model import walk_layers
from backprop_cli.nn.registry import layer_name
from backprop_cli.plot.figure import new_figure
from backprop_cli.plot.rundata import RunView

MAX_MAPS = 8


def conv_layers(view: RunView) -> list[tuple[str, object]]:
    return [(name, layer) for name, layer in walk_layers(view.trained.model) if layer_name(layer) == "conv2d"]


def filters_figure(view: RunView):
    name, layer = conv_layers(view)[0]
    W = np.asarray(layer.params["W"], dtype=np.float64)  # (F, C, kh, kw)
    f, c = W.shape[:2]
    cols = min(f, 8)
    rows = math.ceil(f / cols)
    fig = new_figure(
        1.5 * cols + 1,
        1.5 * rows + 0.9,
        f"First-layer filters of {view.run.name}: layer {name}, {f} kernels of {W.shape[2]}×{W.shape[3]}",
    )
    scale = float(np.abs(W).max()) or 1.0
    for i in range(f):
        ax = fig.add_subplot(rows, cols, i + 1)
        if c == 3:  # RGB: each channel mapped from [-scale, scale] to [0, 1]
            ax.imshow(np.clip(W[i].transpose(1, 2, 0) / (2 * scale) + 0.5, 0, 1), interpolation="nearest")
        else:
            image = ax.imshow(W[i].mean(axis=0), cmap="RdBu_r", vmin=-scale, vmax=scale, interpolation="nearest")
        ax.set_title(f"{i}", fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
    if c != 3:
        fig.colorbar(image, ax=fig.axes, shrink=0.6, label="weight")
    return fig


def feature_maps_figure(view: RunView, index: int):
    split, x, y = view.scored_split
    if not 0 <= index < len(x):
        raise UserError(f"--index {index} is outside the {split} split's {len(x)} rows", where="--index",
                        fix=f"choose 0 to {len(x) - 1}")  # fmt: skip
    layers = conv_layers(view)
    maps: dict[str, np.ndarray] = {}
    taps = [Tap(layer, on_forward=_keep_output(maps, name)) for name, layer in layers]
    with Taps(taps):
        view.trained.model.forward(x[index : index + 1], training=False)
    rows, cols = 1 + len(layers), MAX_MAPS
    label = view.class_names[int(y[index])] if view.class_names and np.ndim(y[index]) == 0 else None
    title = f"Feature maps of {view.run.name}: {split} example {index}" + (f" (class {label})" if label else "")
    fig = new_figure(1.6 * cols + 0.5, 1.8 * rows + 0.6, title)
    ax = fig.add_subplot(rows, cols, 1)
    ax.imshow(np.asarray(x[index], dtype=np.float64).mean(axis=0), cmap="gray", interpolation="nearest")
    ax.set_title("input", fontsize="small")
    ax.axis("off")
    for row, (name, _) in enumerate(layers, start=1):
        channels = maps[name][0]  # (F, H, W)
        for j in range(min(cols, len(channels))):
            ax = fig.add_subplot(rows, cols, row * cols + j + 1)
            ax.imshow(channels[j], cmap="viridis", interpolation="nearest")
            ax.set_title(f"layer {name} ch {j}", fontsize="x-small")
            ax.axis("off")
    return fig


def _keep_output(maps: dict, name: str):
    def keep(x, y):
        maps[name] = np.array(y, dtype=np.float64)

    return keep
