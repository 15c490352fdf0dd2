"""What `sweep` and `cv` show on stderr: a live table on a terminal, one plain line per trial elsewhere,
and at the end the ranked table (a sweep) or the folds with their mean and spread (a cv)."""

from __future__ import annotations

import sys
from typing import Any

from backprop_cli.cli.runs import STATUS_STYLES, _duration, _num, _text
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

    def __init__(self, total: int, metric: str, mode: str, quiet_rows: bool = False):
        self.total, self.metric, self.mode = total, metric, mode
        self.quiet_rows = quiet_rows  # a cross-validation's one trial: its folds' lines say it all
        self.rows: list[dict[str, Any]] = []
        self.live = None

    def start(self, what: str) -> None:
        print(what, file=sys.stderr, flush=True)
        if sys.stderr.isatty():
            from rich.live import Live

            self.live = Live(self._table(), console=_console(), refresh_per_second=4, transient=True)
            self.live.start()

    def row(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if self.live is not None:
            self.live.update(self._table())
            return
        if self.quiet_rows:
            return
        failed = sum(r["status"] not in ("completed", "early_stopped") for r in self.rows)
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
            where = f"trial {trial} fold {fold}" if self.total > 1 else f"fold {fold}"
            seconds = _duration(outcome.get("seconds"))
            print(f"{where} {outcome['status']} {self.metric}={value} ({seconds})", file=sys.stderr, flush=True)

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

        from backprop_cli.many.results import ranked

        failed = sum(r["status"] not in ("completed", "early_stopped") for r in self.rows)
        left = self.total - len(self.rows)
        title = f"{len(self.rows)}/{self.total} trials done, {left} running or queued, {failed} failed{self._best()}"
        return ranked_table(ranked(self.rows, self.metric, self.mode)[:TOP], self.metric, title)


def ranked_table(rows: list[dict[str, Any]], metric: str, title: str | None = None):
    """Rank, trial, parameters, the metric (± std over folds), status, epochs, time, run directory."""
    from pathlib import Path

    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("#", "trial", "parameters", metric, "status", "epochs", "time", "run"):
        table.add_column(column, justify="right" if column in ("#", "trial", metric, "epochs", "time") else "left")
    for rank, row in enumerate(rows, 1):
        status = row["status"]
        table.add_row(
            str(rank),
            str(row["trial"]),
            _text(_params(row)),
            _value(row, metric),
            f"[{STATUS_STYLES.get(status, 'white')}]{status}[/]",
            _num(row.get("epochs")),
            _duration(row.get("seconds")),
            _text(Path(row.get("run_dir") or "").name),
        )
    return table


def print_ranked(rows: list[dict[str, Any]], metric: str) -> None:
    console = _console()
    console.print(ranked_table(rows, metric))
    for row in rows:
        if row.get("error"):
            console.print(_text(f"trial {row['trial']}: {row['error']}"))


# the table keeps to accuracy, loss and the test split's AUCs and balanced accuracy (--json has every figure)
HIDDEN_IN_CV = {f"{split}_{kind}" for split in ("val", "test") for kind in SKEWED} - {
    "test_roc_auc",
    "test_pr_auc",
    "test_balanced_accuracy",
}


def print_cv(report: dict[str, Any]) -> None:
    """One row per fold and the mean ± std of every metric."""
    from pathlib import Path

    from rich.table import Table

    names = list(report["mean"]) or [k for k in report["folds"][0] if k.startswith(("val_", "train_", "test_"))]
    names = [n for n in names if n not in HIDDEN_IN_CV]  # the figures for skewed classes: in --json, on test only
    table = Table(title="cross-validation (test = the held-out fold)", title_justify="left")
    for column in ("fold", *names, "status", "epochs", "time", "run"):
        table.add_column(column, justify="left" if column in ("status", "run") else "right")
    for fold in report["folds"]:
        cells = [_num(fold.get(n)) for n in names]
        time = _duration(fold.get("seconds"))
        run = _text(Path(fold.get("run_dir") or "").name)
        table.add_row(str(fold["fold"]), *cells, fold["status"], _num(fold.get("epochs")), time, run)
    if report["mean"]:
        table.add_row("mean", *[_num(report["mean"][n]) for n in names], "", "", "", "")
        table.add_row("std", *[_num(report["std"][n]) for n in names], "", "", "", "")
    console = _console()
    console.print(table)
    for fold in report["folds"]:
        if fold.get("error"):
            console.print(_text(f"fold {fold['fold']}: {fold['error']}"))
