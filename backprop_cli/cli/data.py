"""`backprop data list | download NAME`: the built-in datasets, and fetching one into the data directory.

NumPy and rich are imported inside the commands: importing this module must stay cheap.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    help="The built-in datasets: list them, download one (checksum-verified).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def dataset_rows(data_dir: Path | None) -> list[dict]:
    """One JSON-able row per built-in dataset: what it is and whether its files are here."""
    from backprop_cli.data.builtin import DATASETS
    from backprop_cli.data.paths import resolve_data_dir

    root = data_dir.expanduser() if data_dir else resolve_data_dir()
    return [_row(entry, root) for entry in DATASETS.values()]


def _row(entry, root: Path) -> dict:
    from backprop_cli.data.bundled import bundled_size
    from backprop_cli.data.mnist import find_file

    row = {
        "name": entry.name, "kind": entry.kind, "task": entry.task, "input_shape": list(entry.input_shape),
        "n_classes": entry.n_classes, "description": entry.description, "present": True, "size_bytes": None,
        "path": None,
    }  # fmt: skip
    if entry.kind == "bundled":
        row["size_bytes"] = sum(bundled_size(name) for name, _ in entry.bundled)
    elif entry.kind == "download":
        directory = root / entry.name
        found = [p for p in (find_file(directory, f.name) for f in entry.files) if p is not None]
        row.update(present=len(found) == len(entry.files), path=str(directory),
                   size_bytes=sum(p.stat().st_size for p in found) or None,
                   files_present=len(found), files_total=len(entry.files))  # fmt: skip
    return row


def human_size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" or n >= 100 else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


@app.command("list")
def list_datasets(
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON array instead of a table.")] = False,
    data_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--data-dir", metavar="DIR", help="Where downloads live (default: $BACKPROP_DATA_DIR, ~/.cache/backprop)."
        ),
    ] = None,
) -> None:
    """Every built-in dataset: kind, task, input shape, whether it is here, its size on disk."""
    rows = dataset_rows(data_dir)
    if json_output:
        print(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    from backprop_cli.cli.output import NARROW, stdout_console

    console = stdout_console()
    wide = console.width >= 120  # the description only where it fits on one line
    headers = ["name", "kind", "task", "input", "classes", "local", "size"]
    if console.width < NARROW:  # kind and size say little that `local` does not
        headers = ["name", "task", "input", "classes", "local"]
    table = Table(box=None)
    for header in headers:
        table.add_column(header, no_wrap=True, justify="right" if header == "size" else "left")
    if wide:
        table.add_column("description")
    for r in rows:
        cells = {
            "name": r["name"],
            "kind": r["kind"],
            "task": r["task"],
            "input": "x".join(map(str, r["input_shape"])),
            "classes": str(r["n_classes"] or "-"),
            "local": _local(r),
            "size": human_size(r["size_bytes"]),
        }
        table.add_row(*(cells[h] for h in headers), *([r["description"]] if wide else []))
    console.print(table)


def _local(row: dict) -> str:
    if row["kind"] == "synthetic":
        return "generated"
    if row["kind"] == "bundled":
        return "bundled"
    if row["present"]:
        return "yes"
    have = row["files_present"]
    return f"no ({have}/{row['files_total']} files)" if have else "no"


@app.command("download")
def download(
    name: Annotated[str, typer.Argument(metavar="NAME", help="A downloadable dataset: mnist or fashion_mnist.")],
    data_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--data-dir", metavar="DIR", help="Where to put it (default: $BACKPROP_DATA_DIR, ~/.cache/backprop)."
        ),
    ] = None,
) -> None:
    """Fetch NAME's files from its mirrors, verify each checksum, and print the dataset's directory."""
    from rich.console import Console

    from backprop_cli.data.download import download_dataset
    from backprop_cli.data.paths import resolve_data_dir

    err = Console(stderr=True)
    root = data_dir.expanduser() if data_dir else resolve_data_dir()
    with _ProgressBar(err) as bar:
        fetched = download_dataset(name, root, progress=bar.update)
    if fetched:
        err.print(f"{name}: fetched and verified {', '.join(p.name for p in fetched)}")
    else:
        err.print(f"{name}: every file is present and verified")
    print(root / name)


class _ProgressBar:
    """A rich progress bar on stderr, one task per file, fed by the library's progress callback."""

    def __init__(self, console):
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                 TransferSpeedColumn(), console=console, transient=False)  # fmt: skip
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def update(self, name: str, done: int, total: int | None) -> None:
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=total)
        self.progress.update(self.tasks[name], completed=done, total=total)
