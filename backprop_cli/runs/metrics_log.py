"""metrics.jsonl: one JSON object per epoch, appended durably, read tolerantly, repaired on resume.

A crash while appending can leave a torn last line; readers skip it, and `repair_metrics` makes
the file agree with the checkpoint a run resumes from.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from backprop_cli.errors import RunDirError
from backprop_cli.runs.atomic import append_line_durable, atomic_write_text
from backprop_cli.runs.jsonio import dumps
from backprop_cli.runs.runread import METRICS_LIMIT
from backprop_cli.userfiles import read_regular


def append_metrics(path: str | os.PathLike[str], record: Mapping[str, Any]) -> None:
    """Append one epoch's record as a line (NaN/inf written as null), flushed and fsynced."""
    append_line_durable(path, dumps(record))


def _parse_line(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def _complete_lines(path: Path) -> list[str]:
    """The lines that end in a newline; an unterminated last line is torn and left out."""
    return _read(path).decode("utf-8", "replace").split("\n")[:-1]


def _read(path: Path) -> bytes:
    """The file's bytes (b"" when missing), through the gate every reader of a run file uses."""
    try:
        return read_regular(path, str(path), METRICS_LIMIT, RunDirError)
    except FileNotFoundError:
        return b""
    except OSError as err:
        raise RunDirError(f"cannot read {path.name}: {err.strerror or err}", where=str(path.parent)) from None


def read_metrics(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every whole record in the file; torn or unparsable lines are skipped, a missing file is []."""
    records = (_parse_line(line) for line in _complete_lines(Path(path)))
    return [r for r in records if r is not None]


def repair_metrics(
    path: str | os.PathLike[str], checkpoint_epoch: int, checkpoint_record: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """Make the log end at the checkpoint's epoch: drop torn lines and later epochs, one line per
    epoch, and re-append the checkpoint's own record if it is missing. Rewrites only on change."""
    path = Path(path)
    kept: list[dict[str, Any]] = []
    seen: set[int] = set()
    for record in read_metrics(path):
        epoch = record.get("epoch")
        if isinstance(epoch, int):
            if epoch > checkpoint_epoch or epoch in seen:
                continue
            seen.add(epoch)
        kept.append(record)
    if checkpoint_record is not None and checkpoint_epoch not in seen:
        kept.append(json.loads(dumps(checkpoint_record)))
    text = "".join(dumps(record) + "\n" for record in kept)
    old = _read(path)
    if old != text.encode("utf-8"):
        atomic_write_text(path, text)
    return kept
