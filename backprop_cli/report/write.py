"""Writing a report page: the -o path checked before the work, the page written atomically."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from backprop_cli.errors import UserError
from backprop_cli.outputpath import check_output_file
from backprop_cli.runs.atomic import atomic_write_text


def write_report(build: Callable[[], str], output: str | os.PathLike[str]) -> Path:
    path = Path(output)
    if path.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"a report is an .html page, not {path.suffix or 'a suffix-less file'}", where=str(path),
                        fix="name the output FILE.html")  # fmt: skip
    check_output_file(path, "report.html")
    atomic_write_text(Path(os.path.realpath(path)) if path.is_symlink() else path, build())
    return path
