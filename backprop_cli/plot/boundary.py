"""`--view boundary`: the decision regions of a 2-feature classifier and its data, at chosen epochs.

Frames come from the run's weight snapshots (`output.snapshots`, train/snapshots.py) and from its best
checkpoint ("best"). Axes are in the data's own units: the grid is scaled as in training before the
network sees it. Two classes: the probability of the second as a diverging colour, the 0.5 contour
drawn; more: one colour per class, its confidence as the colour's opacity.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import numpy as np

from backprop_cli.errors import UserError
from backprop_cli.inference import Trained, load_trained
from backprop_cli.plot.figure import colormap, new_figure
from backprop_cli.plot.rundata import RunView
from backprop_cli.train.evaluate import predict_raw

GRID = 150  # points along each axis
DEFAULT_FRAMES = 5  # snapshot epochs picked when --epochs is not given (plus "best")
MAX_GIF_FRAMES = 120


def snapshot_epochs(view: RunView) -> list[int]:
    found = (re.fullmatch(r"epoch-(\d+)\.safetensors", p.name) for p in _listing(view.files.snapshots))
    return sorted(int(m.group(1)) for m in found if m)


def _listing(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.is_dir() else []


def frames_wanted(view: RunView, spec: str | None, every_snapshot: bool = False) -> list[int | str]:
    """The frames to draw: `spec` ("1,5,20,best"), or by default a few snapshots spread out and "best"."""
    kept = snapshot_epochs(view)
    if spec is not None:
        return [_frame(word.strip(), kept) for word in spec.split(",") if word.strip()]
    if every_snapshot:
        step = max(math.ceil(len(kept) / MAX_GIF_FRAMES), 1)
        return kept[::step] + ([kept[-1]] if kept and (len(kept) - 1) % step else [])
    if len(kept) <= DEFAULT_FRAMES:
        return [*kept, "best"]
    spread = np.unique(np.geomspace(max(kept[0], 1), kept[-1], DEFAULT_FRAMES - 1).round().astype(int))
    chosen = sorted({kept[0], *(min(kept, key=lambda e, s=s: abs(e - s)) for s in spread)})
    return [*chosen, "best"]


def _frame(word: str, kept: list[int]) -> int | str:
    if word in ("best", "last"):
        return word
    if not word.isdecimal():
        raise UserError(
            f"{word!r} is not an epoch", where="--epochs", fix="give epoch numbers and 'best' or 'last': 1,5,20,best"
        )
    epoch = int(word)
    if epoch not in kept:
        have = _ranges(kept) if kept else "none (it was trained with output.snapshots: none, or its data is not 2-D)"
        raise UserError(
            f"no weight snapshot of epoch {epoch}; this run kept epochs {have}",
            where="--epochs",
            fix="choose kept epochs or 'best'/'last'; "
            "train with output.snapshots: [1, 5, 20] (or {every: N}) to keep others",
        )
    return epoch


def _ranges(epochs: list[int]) -> str:
    """[0, 1, 2, 3, 7] -> "0-3, 7"."""
    runs, start = [], epochs[0]
    for prev, cur in zip(epochs, [*epochs[1:], None]):
        if cur != prev + 1:
            runs.append(f"{start}-{prev}" if prev != start else f"{start}")
            start = cur
    return ", ".join(runs)


def _model_at(view: RunView, frame: int | str) -> tuple[Trained, str]:
    files = view.files
    if frame == "best":
        path = files.best if files.best.is_file() else files.last
        trained = load_trained(path)
        return trained, f"best (epoch {trained.epoch})" if path == files.best else f"last (epoch {trained.epoch})"
    if frame == "last":
        trained = load_trained(files.last)
        return trained, f"last (epoch {trained.epoch})"
    return load_trained(files.snapshot(frame)), f"epoch {frame}" + (" (initial weights)" if frame == 0 else "")


def boundary_figure(view: RunView, frames: list[int | str]):
    data = view.data
    x_raw = data.scaler.inverse_transform(data.x_train)  # the data's own units
    grid_raw, (xs, ys) = _grid(x_raw)
    grid = data.scaler.transform(grid_raw, view.trained.dtype)
    cols = min(len(frames), 3)
    rows = math.ceil(len(frames) / cols)
    title = f"Decision boundary of {view.run.name} as it trains"
    fig = new_figure(4.3 * cols + 0.6, 4.1 * rows + 0.4, title)
    for i, frame in enumerate(frames):
        trained, label = _model_at(view, frame)
        ax = fig.add_subplot(rows, cols, i + 1)
        probabilities = trained.loss.link(predict_raw(trained.model, grid)).reshape(len(ys), len(xs), -1)
        _draw_regions(ax, probabilities, xs, ys)
        _draw_points(ax, x_raw, data.y_train, probabilities.shape[-1])
        ax.set_title(f"{label}{_accuracy(view, trained.epoch)}", fontsize="medium")
        names = data.feature_names or ["x1", "x2"]
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
    return fig


def _grid(x_raw: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    lo, hi = x_raw.min(axis=0), x_raw.max(axis=0)
    pad = 0.08 * np.maximum(hi - lo, 1e-9)
    xs, ys = (np.linspace(lo[i] - pad[i], hi[i] + pad[i], GRID) for i in range(2))
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()]), (xs, ys)


def _draw_regions(ax, probabilities: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> None:
    extent = (xs[0], xs[-1], ys[0], ys[-1])
    k = probabilities.shape[-1]
    if k == 2:
        ax.imshow(probabilities[..., 1], origin="lower", extent=extent, cmap="RdBu", vmin=0, vmax=1,
                  aspect="auto", alpha=0.75)  # fmt: skip
        ax.contour(xs, ys, probabilities[..., 1], levels=[0.5], colors="black", linewidths=1.2)
        return
    palette = colormap("tab10")
    winner = probabilities.argmax(axis=-1)
    confidence = (probabilities.max(axis=-1) - 1 / k) / (1 - 1 / k)  # 0 at a uniform guess, 1 when sure
    rgba = np.array([palette(c % 10) for c in range(k)])[winner]
    rgba[..., 3] = 0.15 + 0.7 * confidence
    ax.imshow(rgba, origin="lower", extent=extent, aspect="auto")


def _draw_points(ax, x_raw: np.ndarray, labels: np.ndarray, k: int) -> None:
    palette = colormap("tab10") if k > 2 else None
    for c in range(k):
        mine = labels == c
        color = palette(c % 10) if palette else ("#b2182b", "#2166ac")[c]
        ax.scatter(
            x_raw[mine, 0], x_raw[mine, 1], s=9, color=color, edgecolors="black", linewidths=0.3, label=f"class {c}"
        )


def _accuracy(view: RunView, epoch: int) -> str:
    record = next((r for r in view.run.metrics if r.get("epoch") == epoch), None)
    if record is None:
        return ""
    for key, name in (("val_accuracy", "val acc"), ("train_accuracy", "train acc")):
        if isinstance(record.get(key), (int, float)):
            return f": {name} {record[key]:.2f}"
    return ""


def boundary_gif(view: RunView, frames: list[int | str], seconds_per_frame: float = 0.15) -> bytes:
    """An animated GIF, one frame per epoch, each drawn as a one-panel boundary figure."""
    from PIL import Image

    from backprop_cli.plot.curves import render

    images = [Image.open(io.BytesIO(render(boundary_figure(view, [frame])))).convert("RGB") for frame in frames]
    out = io.BytesIO()
    images[0].save(
        out, format="GIF", save_all=True, append_images=images[1:], duration=int(seconds_per_frame * 1000), loop=0
    )
    return out.getvalue()
