"""What `sweep` and `cv` show on stderr: a live table on a terminal, one plain line per trial elsewhere,
and at the end the ranked table (a sweep) or the folds with their mean and spread (a cv)."""

from __future__ import annotations

import sys
from typing import Any

from backprop_cli.cli.output import NARROW
from backprop_cli.cli.runs import STATUS_STYLES, _duration, _num, _text
from backprop_cli.many.results import GOOD
from backprop_cli.metric_names import SKEWED

TOP = 10  # rows of the live table


def _console():
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    return console if console.is_terminal else Console(stderr=True, highlight=False, width=max(console.width, 200))


def _params(row: dict[str, Any]) -> str:
    from backprop_cli.many.configs import describe

    return describe(row.get("parameters") or {})


def _value(row: dict[str, Any], metric: str) -> str:
    std = row.get(f"{metric}_std")
    return _num(row.get(metric)) + (f" ± {_num(std)}" if std is not None else "")


class StudyView:
    """Progress of a sweep's trials: counts, the best so far, and each trial as it ends."""

    def __init__(
        self, total: int, metric: str, mode: str, quiet_rows: bool = False, run_label: str = "fold", directory=None
    ):
        self.total, self.metric, self.mode = total, metric, mode
        self.directory = directory  # the study's folder: its running trials are read from their metrics.jsonl
        self.quiet_rows = quiet_rows  # a cross-validation's one trial: its folds' lines say it all
        self.run_label = run_label  # what a trial's several runs are: "fold" or "repeat"
        self.rows: list[dict[str, Any]] = []
        self.live = None

    def start(self, what: str) -> None:
        print(what, file=sys.stderr, flush=True)
        if sys.stderr.isatty():
            from rich.live import Live

            self.live = Live(get_renderable=self._table, console=_console(), refresh_per_second=4, transient=True)
            self.live.start()

    def row(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if self.live is not None:
            return  # the live table reads self.rows at its next refresh
        if self.quiet_rows:
            return
        failed = sum(r["status"] not in GOOD for r in self.rows)
        line = f"trial {row['trial']} {row['status']} {self.metric}={_value(row, self.metric)}"
        line += f" {_params(row)} ({_duration(row.get('seconds'))}) [{len(self.rows)}/{self.total} done"
        print(f"{line}, {failed} failed{self._best()}]", file=sys.stderr, flush=True)
        if row.get("error"):
            print(f"  error: {row['error']}", file=sys.stderr, flush=True)

    def run(self, trial: int, fold: int, outcome: dict[str, Any]) -> None:
        """A fold's run ended (cross-validation): one plain line, off a terminal."""
        from backprop_cli.many.results import UNFINISHED, metric_of

        if self.live is None and outcome["status"] not in UNFINISHED:
            value = _num(metric_of(outcome, self.metric))
            label = f"{self.run_label} {fold}"
            where = f"trial {trial} {label}" if self.total > 1 else label
            seconds = _duration(outcome.get("seconds"))
            print(f"{where} {outcome['status']} {self.metric}={value} ({seconds})", file=sys.stderr, flush=True)

    def rung(self, rung: int, epochs: int, trials: int, promoted: list[int]) -> None:
        """A successive-halving decision: who goes on from a rung."""
        if self.live is not None:
            return
        who = ", ".join(map(str, promoted)) or "none (no trial produced its metric)"
        text = f"rung {rung} ({epochs} epoch(s), {trials} trial(s) reported): on to rung {rung + 1}: trial(s) {who}"
        print(text, file=sys.stderr, flush=True)

    def stopping(self) -> None:
        print("stopping: running trials save a checkpoint (Ctrl-C again to quit at once)", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def _best(self) -> str:
        from backprop_cli.many.results import ranked

        best = ranked(self.rows, self.metric, self.mode)
        value = best[0].get(self.metric) if best else None
        return "" if value is None else f", best {self.metric}={_num(value)} (trial {best[0]['trial']})"

    def _table(self):
        from rich.console import Group

        from backprop_cli.many.results import ranked

        failed = sum(r["status"] not in GOOD for r in self.rows)
        left = self.total - len(self.rows)
        title = f"{len(self.rows)}/{self.total} trials done, {left} running or queued, {failed} failed{self._best()}"
        running = running_trials(self.directory, self.metric, {r["trial"] for r in self.rows})
        done = ranked(self.rows, self.metric, self.mode)[: max(0, TOP - len(running))]
        return Group(ranked_table(done, self.metric, title), *running_lines(running, self.metric))


def running_trials(directory, metric: str, ended: set[int]) -> list[dict[str, Any]]:
    """The study's trials that are training now: trial number, epoch k of N, the metric at its last epoch."""
    import json
    import re
    from pathlib import Path

    from backprop_cli.runs.metrics_log import read_metrics

    if directory is None:
        return []
    found = []
    for summary in sorted(Path(directory).glob("trial-*/**/summary.json")):
        number = re.match(r"trial-(\d+)", summary.relative_to(directory).parts[0])
        try:
            state = json.loads(summary.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if number is None or int(number.group(1)) in ended or state.get("status") != "running":
            continue
        records = read_metrics(summary.parent / "metrics.jsonl")
        last = records[-1] if records else {}
        found.append({"trial": int(number.group(1)), "epoch": last.get("epoch", 0), "epochs": state.get("epochs"),
                      "value": last.get(metric)})  # fmt: skip
    return found


def running_lines(running: list[dict[str, Any]], metric: str) -> list[str]:
    return [f"trial {r['trial']} running: epoch {r['epoch']}/{_num(r['epochs'])}, {metric} {_num(r['value'])}"
            for r in running]  # fmt: skip


def headline(row: dict[str, Any], metric: str) -> str:
    """`best: optimizer.lr=0.3 model.layers.0.units=16 val_loss=0.059 (trial 5)`: the answer in one line."""
    return f"best: {_params(row)} {metric}={_value(row, metric)} (trial {row['trial']})"


def ranked_table(rows: list[dict[str, Any]], metric: str, title: str | None = None):
    """Rank, trial, parameters, the metric (± std over runs), status, [rung,] epochs, time, run directory; where
    that cannot fit with the run directories whole, one record per trial instead."""
    console = _console()
    grid = _ranked_grid(rows, metric, title)
    least = console.measure(grid, options=console.options.update_width(1 << 20)).minimum
    return ranked_records(rows, metric, title) if console.width < NARROW or least > console.width else grid


def _ranked_grid(rows: list[dict[str, Any]], metric: str, title: str | None):
    from pathlib import Path

    from rich.table import Table

    rungs = any("rung" in row for row in rows)
    table = Table(title=title, title_justify="left")
    columns = ("#", "trial", "parameters", metric, "status", *(("rung",) if rungs else ()), "epochs", "time", "run")
    names = [Path(row.get("run_dir") or "").name for row in rows]
    for column in columns:
        whole = {"no_wrap": True, "min_width": max(map(len, names), default=3)} if column == "run" else {}
        table.add_column(column, justify="left" if column in ("parameters", "status", "run") else "right", **whole)
    for rank, row in enumerate(rows, 1):
        status = row["status"]
        table.add_row(
            str(rank),
            str(row["trial"]),
            _text(_params(row)),
            _value(row, metric),
            f"[{STATUS_STYLES.get(status, 'white')}]{status}[/]",
            *((_num(row.get("rung")),) if rungs else ()),
            _num(row.get("epochs")),
            _duration(row.get("seconds")),
            _text(Path(row.get("run_dir") or "").name),
        )
    return table


def ranked_records(rows: list[dict[str, Any]], metric: str, title: str | None = None):
    from pathlib import Path

    from rich.console import Group
    from rich.text import Text

    lines = [Text(title)] if title else []
    for rank, row in enumerate(rows, 1):
        status = row["status"]
        rung = f", rung {_num(row.get('rung'))}" if "rung" in row else ""
        lines.append(Text.from_markup(
            f"#{rank} trial {row['trial']}: {metric} [bold]{_value(row, metric)}[/], "
            f"[{STATUS_STYLES.get(status, 'white')}]{status}[/]{rung}, {_num(row.get('epochs'))} epochs, "
            f"{_duration(row.get('seconds'))}"))  # fmt: skip
        lines.append(Text(f"   {_params(row)}", overflow="fold"))
        lines.append(Text(f"   {Path(row.get('run_dir') or '').name}", no_wrap=True, overflow="ignore"))
    return Group(*lines)


def describe_study(plan) -> str:
    """ "27 trial(s), successive halving over rungs of 1, 3, 9, 27 epochs" and the like."""
    if plan.kind == "cv":
        return f"{plan.folds} folds"
    what = f"{plan.total} trial(s)"
    if plan.repeats and plan.repeats > 1:
        what += f" x {plan.repeats} seeds"
    if plan.method == "tpe":
        what += f", tpe in batches of {plan.batch}"
    if plan.schedule is not None:
        from backprop_cli.many.halving import rung_epochs

        s = plan.schedule
        rungs = ", ".join(map(str, rung_epochs(s.min_epochs, s.max_epochs, s.reduction_factor)))
        what += f", {s.type.replace('_', ' ')} over rungs of {rungs} epochs"
    return what


def print_compute(rows: list[dict[str, Any]], plan) -> None:
    """Successive halving's saving: the epochs trained against training every trial to max_epochs."""
    runs = max(1, plan.folds or plan.repeats or 1)
    used = sum(row.get("epochs") or 0 for row in rows)
    full = plan.total * runs * plan.schedule.max_epochs
    share = f" ({100 * used / full:.0f}%)" if full else ""
    print(f"compute: {used:,} epochs of {full:,} for every trial to {plan.schedule.max_epochs}{share}", file=sys.stderr)


def print_ranked(rows: list[dict[str, Any]], metric: str) -> None:
    console = _console()
    console.print(ranked_table(rows, metric))
    for row in rows:
        if row.get("error"):
            console.print(_text(f"trial {row['trial']}: {row['error']}"))
    if rows and rows[0].get(metric) is not None:  # else the error that follows says no trial produced it
        console.print(_text(headline(rows[0], metric)), soft_wrap=True)


# the table keeps to accuracy, loss and the test split's AUCs and balanced accuracy (--json has every figure)
HIDDEN_IN_CV = {f"{split}_{kind}" for split in ("val", "test") for kind in SKEWED} - {
    "test_roc_auc",
    "test_pr_auc",
    "test_balanced_accuracy",
}


def print_cv(report: dict[str, Any]) -> None:
    """One row per fold and the mean ± std of every metric; where that does not fit the terminal, only the
    held-out figures, the run directories below the table, whole. Then the headline: `test_accuracy 0.953 ± 0.034`."""
    from pathlib import Path

    console = _console()
    names = list(report["mean"]) or [k for k in report["folds"][0] if k.startswith(("val_", "train_", "test_"))]
    names = [n for n in names if n not in HIDDEN_IN_CV]  # the figures for skewed classes: in --json, on test only
    table = _cv_table(report, names, ("status", "epochs", "time", "run"))
    narrow = console.measure(table, options=console.options.update_width(1 << 20)).maximum > console.width
    if narrow:
        table = _cv_table(report, [n for n in names if n.startswith("test_")] or names[:2], ("status",))
    console.print(table)
    if narrow:
        for fold in report["folds"]:
            console.print(_text(f"fold {fold['fold']}: {Path(fold.get('run_dir') or '').name}"), no_wrap=True)
    for fold in report["folds"]:
        if fold.get("error"):
            console.print(_text(f"fold {fold['fold']}: {fold['error']}"))
    console.print(_text(cv_headline(report)), soft_wrap=True)


def _cv_table(report: dict[str, Any], names: list[str], tail: tuple[str, ...]):
    from pathlib import Path

    from rich.table import Table

    table = Table(title="cross-validation (test = the held-out fold)", title_justify="left")
    for column in ("fold", *names, *tail):
        table.add_column(column, justify="left" if column in ("status", "run") else "right", no_wrap=True)
    for fold in report["folds"]:
        cells = {"status": fold["status"], "epochs": _num(fold.get("epochs")), "time": _duration(fold.get("seconds")),
                 "run": _text(Path(fold.get("run_dir") or "").name)}  # fmt: skip
        table.add_row(str(fold["fold"]), *[_num(fold.get(n)) for n in names], *[cells[c] for c in tail])
    if report["mean"]:
        for what in ("mean", "std"):
            table.add_row(what, *[_num(report[what].get(n)) for n in names], *[""] * len(tail))
    return table


def cv_headline(report: dict[str, Any]) -> str:
    """The held-out metric people quote, as mean ± std over the folds."""
    mean, std = report.get("mean") or {}, report.get("std") or {}
    name = next((n for n in ("test_accuracy", "test_loss") if n in mean), next(iter(mean), None))
    if name is None:
        return "cross-validation: no fold produced its metrics"
    return f"{name} {_num(mean[name])} ± {_num(std.get(name))} over {len(report['folds'])} folds"
