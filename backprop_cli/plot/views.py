"""`backprop plot RUN --view NAME`: one picture of one run. Each view first says whether it applies to the
run (a UserError naming what it needs and what the run has, exit 2); then it draws."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backprop_cli.errors import UserError
from backprop_cli.nn.model import walk_layers
from backprop_cli.nn.registry import layer_name
from backprop_cli.outputpath import check_output_file
from backprop_cli.plot.figure import save_figure
from backprop_cli.plot.rundata import RunView
from backprop_cli.runs.atomic import atomic_write_bytes
from backprop_cli.runs.listing import open_run


@dataclass
class ViewOptions:
    epochs: str | None = None  # boundary: "1,5,20,best"; activations: the sample's epoch
    gif: bool = False
    prompt: str | None = None
    index: int = 0


def _layer_kinds(view: RunView) -> str:
    kinds = [layer_name(layer) for _, layer in walk_layers(view.trained.model)]
    return ", ".join(dict.fromkeys(kinds))


def _refuse(view: RunView, what: str, has: str, fix: str) -> UserError:
    return UserError(f"{what}; this run has {has}", where=str(view.path), fix=fix)


def _needs_classification(name: str) -> Callable[[RunView], None]:
    def check(view: RunView) -> None:
        if not view.classification:
            raise _refuse(view, f"{name} needs a classification run", "a regression task",
                          "draw its learning curves with `backprop plot RUN`")  # fmt: skip

    return check


def _needs_2d(view: RunView) -> None:
    shape = view.input_shape
    if shape != (2,):
        has = f"{shape[0]}" if len(shape) == 1 else f"inputs of shape {shape}"
        raise UserError(
            f"boundary needs 2 input features; this run has {has}",
            where=str(view.path),
            fix="the boundary is drawn for 2-column data (xor, spirals, moons, circles, blobs, a 2-feature CSV); "
            "try --view confusion",
        )
    _needs_classification("boundary")(view)


def _needs_layer(kind: str, name: str) -> Callable[[RunView], None]:
    def check(view: RunView) -> None:
        if not any(layer_name(layer) == kind for _, layer in walk_layers(view.trained.model)):
            article = "an" if kind[0] in "aeiou" else "a"
            raise _refuse(view, f"{name} needs {article} {kind} layer", f"none (its layers: {_layer_kinds(view)})",
                          "choose another --view for this run")  # fmt: skip

    return check


def _needs_histograms(view: RunView) -> None:
    from backprop_cli.plot.activations import pick_sample

    pick_sample(view, None)


def _boundary(view: RunView, options: ViewOptions):
    from backprop_cli.plot.boundary import boundary_figure, boundary_gif, frames_wanted

    frames = frames_wanted(view, options.epochs, every_snapshot=options.gif)
    return boundary_gif(view, frames) if options.gif else boundary_figure(view, frames)


def _activations(view: RunView, options: ViewOptions):
    from backprop_cli.plot.activations import activations_figure, pick_sample

    return activations_figure(view, pick_sample(view, options.epochs))


def _filters(view: RunView, options: ViewOptions):
    from backprop_cli.plot.conv import filters_figure

    return filters_figure(view)


def _feature_maps(view: RunView, options: ViewOptions):
    from backprop_cli.plot.conv import feature_maps_figure

    return feature_maps_figure(view, options.index)


def _attention(view: RunView, options: ViewOptions):
    from backprop_cli.plot.attention import attention_figure

    return attention_figure(view, options.prompt)


def _classes(kind: str):
    def draw(view: RunView, options: ViewOptions):
        from backprop_cli.plot.classes import confusion_figure, curves_figure

        return confusion_figure(view) if kind == "confusion" else curves_figure(view, kind)

    return draw


@dataclass
class View:
    check: Callable[[RunView], None]
    draw: Callable[[RunView, ViewOptions], object]


VIEWS = {
    "boundary": View(_needs_2d, _boundary),
    "activations": View(_needs_histograms, _activations),
    "filters": View(_needs_layer("conv2d", "filters"), _filters),
    "feature-maps": View(_needs_layer("conv2d", "feature-maps"), _feature_maps),
    "attention": View(_needs_layer("attention", "attention"), _attention),
    "confusion": View(_needs_classification("confusion"), _classes("confusion")),
    "roc": View(_needs_classification("roc"), _classes("roc")),
    "pr": View(_needs_classification("pr"), _classes("pr")),
}


def view_output(run_path: Path, name: str, output: str | os.PathLike[str] | None, gif: bool) -> Path:
    """The file to write (default RUN/<view>.png, .gif for an animation), refused early when unusable."""
    path = Path(output) if output is not None else run_path / f"{name}.{'gif' if gif else 'png'}"
    if gif:
        if path.suffix.lower() != ".gif":
            raise UserError(f"an animation is written as a .gif, not {path.suffix or 'a suffix-less file'}",
                            where=str(path), fix="name the output FILE.gif")  # fmt: skip
        check_output_file(path, "boundary.gif")
    else:
        from backprop_cli.plot.curves import image_format

        image_format(path)
    return path


def write_view(run: str | os.PathLike[str], name: str, output=None, options: ViewOptions | None = None) -> Path:
    """Check that view `name` applies to the run, draw it, write it; returns the path written."""
    options = options or ViewOptions()
    if options.gif and name != "boundary":
        raise UserError(f"--gif animates the boundary view only, not {name}", where="--gif", fix="drop --gif")
    view = RunView(open_run(run))
    path = view_output(view.path, name, output, options.gif)
    VIEWS[name].check(view)
    drawn = VIEWS[name].draw(view, options)
    if isinstance(drawn, bytes):
        atomic_write_bytes(Path(os.path.realpath(path)) if path.is_symlink() else path, drawn)
        return path
    return save_figure(drawn, path)
