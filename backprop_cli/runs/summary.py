"""summary.json: the run's outcome, replaced atomically so a reader always sees a whole file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from backprop_cli.runs.atomic import atomic_write_text
from backprop_cli.runs.jsonio import dumps
from backprop_cli.runs.rundir import RunFiles
from backprop_cli.runs.runread import read_summary_file


def write_summary(run_dir: str | os.PathLike[str], summary: Mapping[str, Any]) -> None:
    """Write `summary.json` (indented, NaN/inf as null) atomically; OSError becomes RunError."""
    atomic_write_text(RunFiles(run_dir).summary, dumps(summary, indent=2) + "\n")


def read_summary(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The summary, or None when it is missing, unreadable or not a JSON object (fields of the wrong type
    left out: see runread)."""
    return read_summary_file(Path(RunFiles(run_dir).summary))[0]
