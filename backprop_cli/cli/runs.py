"""`backprop runs list | show | compare`: past runs as tables on stdout, or as JSON with --json.

rich and the library are imported inside the commands: importing this module must stay cheap.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from backprop_cli.cli.output import plain

app = typer.Typer(
    help="Look at past runs: list them, show one, compare several.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
STATUS_STYLES = {"completed": "green", "early_stopped": "green", "running": "cyan", "interrupted": "yellow",
                 "paused": "yellow", "diverged": "red", "failed": "red", "killed": "red",
                 "damaged": "magenta"}  # fmt: skip
NO_RUNS_FIX = "train one with `backprop train CONFIG`"


def _console():
    """stdout; off a terminal, wide enough that a row never wraps in a pipe or a file."""
    from backprop_cli.cli.output import stdout_console

    return stdout_console()


def _print_json(data: Any) -> None:
    from backprop_cli.runs.jsonio import dumps

    print(dumps(data, indent=2))


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _text(value: Any):
    """A cell shown as is: brackets in a run name or a layer ("residual[dense 64]") are not rich markup."""
    from rich.text import Text

    return Text(str(value))


def _status(status: str) -> str:
    return f"[{STATUS_STYLES.get(status, 'white')}]{plain(status)}[/]"


def _report_damage(rows: list[dict]) -> None:
    """One line on stderr per damaged run: what is wrong with it (the listing goes on with the others)."""
    for row in rows:
        if row.get("problems"):
            more = f" (and {len(row['problems']) - 1} more)" if len(row["problems"]) > 1 else ""
            print(f"note: {row['run']} is damaged: {row['problems'][0]}{more}", file=sys.stderr)


def _epochs(done: int | None, total: int | None) -> str:
    return f"{_num(done)}/{_num(total)}"


@app.command("list")
def list_(
    runs_dir: Annotated[
        Optional[Path], typer.Argument(metavar="RUNS_DIR", help="Directory of run directories (default: runs).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Every run in RUNS_DIR, newest first: status, epochs, best metric, test accuracy, time."""
    from backprop_cli.errors import UserError
    from backprop_cli.runs.listing import DEFAULT_RUNS_DIR, list_runs
    from backprop_cli.runs.rundir import is_run_dir

    target = runs_dir if runs_dir is not None else Path(DEFAULT_RUNS_DIR)
    if is_run_dir(target):  # one run, not a folder of runs: say so rather than "no runs"
        raise UserError(
            "is one run, not a folder of runs",
            where=str(target),
            fix=f"see it with `backprop runs show {target}`, or list its folder: `backprop runs list {target.parent}`",
        )
    rows = [] if runs_dir is None and not target.exists() else list_runs(target)
    if as_json:
        _print_json(rows)
    if not rows:
        print(f"no runs in {target}/ yet; {NO_RUNS_FIX}", file=sys.stderr)
    if as_json or not rows:
        return
    console = _console()
    tables = (_runs_table(rows, RUN_COLUMNS), _runs_table(rows, RUN_COLUMNS[:4]))
    unbounded = console.options.update_width(1 << 20)
    fitting = [t for t in tables if console.measure(t, options=unbounded).maximum <= console.width]  # names whole
    console.print(fitting[0] if fitting else _runs_records(rows))
    _report_damage(rows)


RUN_COLUMNS = ("run", "status", "epochs", "best", "test", "time", "started")


def _runs_table(rows: list[dict], columns: tuple[str, ...]):
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in columns:
        table.add_column(column, no_wrap=True)
    for r in rows:
        cells = {
            "run": _text(r["run"]),
            "status": _status(r["status"]),
            "epochs": _epochs(r["epochs_run"], r["epochs"]),
            "best": _best_cell(r),
            "test": _test_cell(r["test_accuracy"], r["test_loss"]),
            "time": _duration(r["wall_time_s"]),
            "started": (r["started"] or "—").replace("T", " "),
        }
        table.add_row(*(cells[c] for c in columns))
    return table


def _runs_records(rows: list[dict]):
    """A narrow terminal: the run's name whole on its own line (the thing users copy), its figures below."""
    from rich.console import Group
    from rich.text import Text

    lines = []
    for r in rows:
        lines.append(Text(str(r["run"]), style="bold", no_wrap=True, overflow="ignore"))
        figures = [_epochs(r["epochs_run"], r["epochs"]), f"best {_best_cell(r)}",
                   f"test {_test_cell(r['test_accuracy'], r['test_loss'])}", _duration(r["wall_time_s"])]  # fmt: skip
        lines.append(Text.from_markup(f"  {_status(r['status'])} " + ", ".join(plain(f) for f in figures)))
    return Group(*lines)


def _best_cell(row: dict) -> str:
    if row["best_value"] is None:
        return "—"
    return f"{plain(row['best_metric'])} {_num(row['best_value'])} @{_num(row['best_epoch'])}"


def _test_cell(accuracy: float | None, loss: float | None) -> str:
    if accuracy is not None:
        return f"acc {accuracy:.4f}"
    return f"loss {loss:.4g}" if loss is not None else "—"


@app.command("show")
def show(
    run: Annotated[Path, typer.Argument(metavar="RUN", help="A run directory.")],
    as_json: JsonOption = False,
) -> None:
    """One run: its config in brief, final, best and test metrics, warnings, and a sparkline of the loss."""
    from backprop_cli.runs.describe import show_run
    from backprop_cli.runs.listing import open_run

    data = show_run(open_run(run))
    if as_json:
        _print_json(data)
        return
    console = _console()
    when = f", started {data['started'].replace('T', ' ')}" if data["started"] else ""
    reason = f" ({plain(data['stop_reason'])})" if data["stop_reason"] else ""
    console.print(f"[bold]{plain(data['run'])}[/]  {_status(data['status'])}{reason}  epoch "
                  f"{_epochs(data['epochs_run'], data['epochs'])}, {_duration(data['wall_time_s'])}{when}")  # fmt: skip
    console.print(f"[dim]{plain(data['path'])}[/]\n")
    for problem in data["problems"]:
        console.print(f"[magenta]damaged:[/] {plain(problem)}")
    console.print(_config_table(data["config"]))
    console.print(_outcome_table(data))
    _print_sparklines(console, data)
    if data["warnings"]:
        console.print("\n[bold yellow]warnings[/]")
        for warning in data["warnings"]:
            console.print(f"  • {warning}", markup=False)


def _config_table(config: dict):
    from rich.table import Table

    table = Table(box=None, show_header=False, title="config", title_justify="left", title_style="bold")
    table.add_column(style="dim")
    table.add_column()
    table.add_row("data", _text(config["data"]))
    for i, layer in enumerate(config["layers"]):
        table.add_row("layers" if i == 0 else "", _text(f"{i:>2}  {layer}"))
    for key in ("loss", "optimizer", "schedule", "regularization", "early_stopping"):
        table.add_row(key.replace("_", " "), _text(config[key]))
    batch, seed = _num(config["batch_size"]), _num(config["seed"])
    table.add_row("epochs", f"{_num(config['epochs'])}  (batch size {batch}, seed {seed})")
    return table


def _outcome_table(data: dict):
    from rich.table import Table

    final, test = data["final"], data["test"] or {}
    table = Table("", "train", "val", "test", box=None, header_style="bold", title="\nmetrics (final epoch)",
                  title_justify="left", title_style="bold")  # fmt: skip
    for metric in ("loss", "accuracy"):
        cells = [final.get(f"train_{metric}"), final.get(f"val_{metric}"), test.get(metric)]
        if any(c is not None for c in cells):
            table.add_row(metric, *(_num(c) for c in cells))
    for monitor, value in data["best"].items():
        table.caption = f"best epoch {_num(data['best_epoch'])}: {plain(monitor)} {_num(value)}"
        table.caption_justify = "left"
    return table


def _print_sparklines(console, data: dict) -> None:
    history, lines = data["loss_history"], data["sparklines"]
    if not lines:
        return
    scale = "one log scale" if data["sparkline_scale"] == "log" else "one scale"
    console.print(f"\n[bold]loss per epoch[/] ({scale})")
    for key, line in lines.items():
        values = [v for v in history[key] if v is not None]
        span = f"{_num(values[0])} → {_num(values[-1])}" if values else ""
        console.print(f"  {key.split('_')[0]:<5} {line}  {span}", markup=False)


@app.command("compare")
def compare(
    runs: Annotated[
        list[Path], typer.Argument(metavar="RUN...", help="Two or more run directories, or one sweep directory.")
    ],
    top: Annotated[
        Optional[int], typer.Option("--top", min=2, max=50, help="A sweep's best N trials (default 5).")
    ] = None,
    as_json: JsonOption = False,
    html: Annotated[
        Optional[Path], typer.Option("--html", metavar="FILE", help="Also write the comparison as one HTML page.")
    ] = None,
) -> None:
    """Configs side by side, only the keys that differ; then final, best and test metrics side by side."""
    from backprop_cli.errors import UserError
    from backprop_cli.runs.compare import compare_runs
    from backprop_cli.runs.listing import open_run
    from backprop_cli.runs.studydir import study_kind

    if len(runs) == 1 and study_kind(runs[0]) is not None:
        from backprop_cli.many.study import top_runs

        runs = top_runs(runs[0], top or 5)
    elif top is not None:
        raise UserError(
            "--top picks the best trials of a sweep directory", where="--top", fix="give one sweep directory"
        )
    if len(runs) < 2:
        raise UserError("compare needs two or more runs", fix="backprop runs compare RUN RUN ...")
    opened = [open_run(r) for r in runs]
    data = compare_runs(opened)
    if html is not None:
        from backprop_cli.report.compare_report import compare_report
        from backprop_cli.report.write import write_report

        print(f"wrote {write_report(lambda: compare_report(opened, data), html)}", file=sys.stderr)
    if as_json:
        _print_json(data)
        return
    console = _console()
    console.print(_differences_table(data))
    console.print(_metrics_table(data))
    _report_damage(data["runs"])


def _differences_table(data: dict):
    from rich.table import Table

    names = [plain(r["run"]) for r in data["runs"]]
    table = Table("config key", *names, box=None, header_style="bold", title="config: keys that differ",
                  title_justify="left", title_style="bold")  # fmt: skip
    for key, values in data["differences"].items():
        cells = [plain(_num(v)) for v in values]
        marked = [f"[bold yellow]{c}[/]" if v != values[0] else c for c, v in zip(cells[1:], values[1:])]
        table.add_row(plain(key), cells[0], *marked)
    same = data["identical_keys"]
    table.caption = f"{same} other key(s) identical" if data["differences"] else f"identical configs ({same} keys)"
    table.caption_justify = "left"
    return table


def _metrics_table(data: dict):
    from rich.table import Table

    from backprop_cli.runs.compare import better

    names = [plain(r["run"]) for r in data["runs"]]
    table = Table("metric", *names, box=None, header_style="bold", title="\nmetrics", title_justify="left",
                  title_style="bold")  # fmt: skip
    for key, values in data["metrics"].items():
        cells = [_status(v) if key == "status" else _duration(v) if key == "wall_time_s" else _num(v) for v in values]
        best = _best_index(values, better(key))
        if best is not None:
            cells[best] = f"[bold green]{cells[best]}[/]"
        table.add_row(plain(key), *cells)
    return table


def _best_index(values: list, mode: str | None) -> int | None:
    numbers = [(v, i) for i, v in enumerate(values) if isinstance(v, (int, float))]
    if mode is None or len(numbers) < 2 or len({v for v, _ in numbers}) == 1:
        return None
    return (max if mode == "max" else min)(numbers)[1]


@app.command("export")
def export(
    run: Annotated[Path, typer.Argument(help="A run directory.")],
    fmt: Annotated[str, typer.Option("--format", help="csv: metrics.jsonl as a flat table.")] = "csv",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File [default: RUN/metrics.csv].")] = None,
) -> None:
    """Write a run's metrics as CSV (one row per epoch, per-layer statistics as layers.<i>.<stat>); print the path."""
    from backprop_cli.errors import UserError
    from backprop_cli.outputpath import check_output_file
    from backprop_cli.runs.listing import open_run
    from backprop_cli.train.csv_log import CSV_NAME, export_metrics_csv

    if fmt != "csv":
        raise UserError(f"unknown format {fmt!r}", where="--format", fix="choose csv (for models: backprop export)")
    past = open_run(run)
    path = check_output_file(output if output is not None else past.path / CSV_NAME, CSV_NAME)
    for lack in export_metrics_csv(past, path):  # a CSV smaller than the run says so
        print(f"note: {past.path}: {lack}", file=sys.stderr)
    print(path)
