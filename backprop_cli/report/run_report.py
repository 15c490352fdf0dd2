"""The sections of one run's report, each drawn from the run's own files; a section that cannot be drawn
for this run (no checkpoint yet, a regression task, no histograms) says why instead of failing the page."""

from __future__ import annotations

from collections.abc import Callable

from backprop_cli.errors import BackpropError
from backprop_cli.plot.curves import render
from backprop_cli.plot.rundata import RunView
from backprop_cli.report.page import Section, image, page, paragraph, preformatted, table
from backprop_cli.runs.describe import show_run
from backprop_cli.runs.listing import Run
from backprop_cli.runs.rundir import RunFiles


def run_report(run: Run) -> str:
    view = RunView(run)
    sections = [
        _guarded("Summary", lambda: _summary(run)),
        _guarded("Test metrics", lambda: _test_metrics(run)),
        _guarded("Learning curves and gradient flow", lambda: _curves(run)),
        _guarded("Activations and gradients", lambda: _activations(view)),
        _guarded("Confusion matrix and ROC curves", lambda: _classes(view)),
        _guarded("The network, layer by layer (explain)", lambda: _explain(view)),
        _guarded("Warnings", lambda: _warnings(run)),
        _guarded("Config", lambda: [preformatted(RunFiles(run.path).config.read_text(errors="replace"))]),
    ]
    return page(f"Run report: {run.dir_name}", sections)


def _guarded(title: str, build: Callable[[], list[str]]) -> Section:
    try:
        return Section(title, build())
    except BackpropError as err:
        return Section(title, [paragraph(f"Not shown for this run: {err}", "note")])


SUMMARY_KEYS = ("run", "name", "status", "stop_reason", "started", "wall_time_s", "epochs_run", "epochs", "best_epoch")


def _summary(run: Run) -> list[str]:
    shown = show_run(run)
    rows = [(key.replace("_", " "), shown[key]) for key in SUMMARY_KEYS]
    rows += [(f"best {key}", value) for key, value in shown["best"].items()]
    rows += [(f"final {key}", value) for key, value in shown["final"].items() if isinstance(value, (int, float))]
    rows += [(key, value) for key, value in shown["config"].items() if not isinstance(value, (dict, list))]
    problems = [paragraph(f"This run is damaged: {p}", "fail") for p in run.problems]
    return [*problems, table(["", "value"], rows)]


def _test_metrics(run: Run) -> list[str]:
    test = (run.summary or {}).get("test")
    if not isinstance(test, dict) or not test:
        return [paragraph("This run has no test split scores.", "note")]
    rows = [(key, value) for key, value in test.items() if not isinstance(value, (dict, list))]
    return [table(["metric", "value"], rows)]


def _curves(run: Run) -> list[str]:
    from backprop_cli.plot.curves import build_figure

    alt = f"Loss, accuracy and learning rate of {run.name} over the epochs, and each layer's gradient norm"
    return [image(render(build_figure([run])), alt)]


def _activations(view: RunView) -> list[str]:
    from backprop_cli.plot.activations import activations_figure, pick_sample

    first, last = pick_sample(view, None), pick_sample(view, "last")
    parts = []
    for sample in [first] if first["step"] == last["step"] else [first, last]:
        alt = f"Histograms of activations, gradients and pre-activations per layer at step {sample['step']}"
        parts.append(image(render(activations_figure(view, sample)), alt))
    return parts


def _classes(view: RunView) -> list[str]:
    from backprop_cli.plot.classes import confusion_figure, curves_figure

    if not view.classification:
        return [paragraph("A regression run: no classes to confuse.", "note")]
    split = view.scored_split[0]
    return [
        image(render(confusion_figure(view)), f"Confusion matrix on the {split} split, rows normalised"),
        image(render(curves_figure(view, "roc")), f"ROC curves of each class against the rest on the {split} split"),
    ]


def _explain(view: RunView) -> list[str]:
    from backprop_cli.teach.explain import explain_network, human_bytes, human_count, per_example

    result = explain_network(view.trained.config)
    rows = [
        (row["name"], row["type"], per_example(row["input_shape"]), per_example(row["output_shape"]),
         human_count(row["flops"]["forward"]), human_count(row["flops"]["backward"]), human_bytes(row["kept_bytes"]))
        for row in result["layers"]
    ]  # fmt: skip
    t = result["totals"]
    totals = [
        ("parameters", human_count(t["param_count"])),
        ("FLOPs per step", human_count(t["flops_step"])),
        ("memory per step", human_bytes(t["step_bytes"])),
    ]
    header = ["layer", "type", "input", "output", "forward FLOPs", "backward FLOPs", "kept for backward"]
    return [table(header, rows, f"batch of {result['batch']}"), table(["total", "value"], totals)]


def _warnings(run: Run) -> list[str]:
    warnings = (run.summary or {}).get("warnings") or []
    if not warnings:
        return [paragraph("The gradient monitor raised no warning.")]
    return ["<ul>" + "".join(f"<li>{paragraph(w)}</li>" for w in warnings) + "</ul>"]
