"""`runs compare --html`: the comparison as one page: the config keys that differ, the metrics side by
side, and the runs' learning curves on shared axes."""

from __future__ import annotations

from collections.abc import Sequence

from backprop_cli.plot.curves import build_figure, render
from backprop_cli.report.page import Section, image, page, paragraph, table
from backprop_cli.runs.listing import Run


def compare_report(runs: Sequence[Run], data: dict) -> str:
    names = [r["run"] for r in data["runs"]]
    differences = [(key, *values) for key, values in data["differences"].items()]
    same = f"{data['identical_keys']} other keys are identical."
    metrics = [(key, *values) for key, values in data["metrics"].items()]
    alt = "Loss, accuracy and learning rate of " + ", ".join(run.name for run in runs) + " on shared epoch axes"
    sections = [
        Section("Config keys that differ", [table(["key", *names], differences), paragraph(same)]),
        Section("Metrics", [table(["metric", *names], metrics)]),
        Section("Learning curves", [image(render(build_figure(runs)), alt)]),
    ]
    damaged = [paragraph(f"{r['run']} is damaged: {p}", "fail") for r in data["runs"] for p in r["problems"]]
    if damaged:
        sections.append(Section("Damaged runs", damaged))
    return page("Runs compared: " + ", ".join(names), sections)
