"""Where the user asks us to write a file (`-o FILE`): checked before any work, so a wrong path is the
user's mistake (exit 2) with its fix, not a write failure (exit 1) after the work is done, and an output
never replaces an input: not a file the command reads, not one of a run directory's own files."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from backprop_cli.errors import UserError
from backprop_cli.runs.rundir import run_owning


def check_output_file(path: Path, example: str, inputs: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """`path` if a file can be created there: not a directory, in a folder that exists, not one of `inputs` and
    not a run's own file. `example`: a file name to suggest instead (e.g. "model.onnx")."""
    path = Path(path)
    if path.is_dir():
        raise UserError("is a directory", where=str(path), fix=f"name the file, e.g. -o {path / example}")
    if not path.parent.is_dir():
        raise UserError(f"no such directory: {path.parent}", where=str(path), fix="create it, or pick another -o")
    run = run_owning(path)
    if run is not None:
        name, shown = path.resolve().relative_to(run), Path(os.path.relpath(run))
        raise UserError(
            f"is the run's own {name}: writing there would replace it (run {shown})",
            where=str(path),
            fix=f"write somewhere else, e.g. -o {shown / example}",
        )
    for source in inputs:
        if _same_file(path, Path(source)):
            raise UserError(
                f"is the file this command reads ({source}); writing there would replace it",
                where=str(path),
                fix=f"write somewhere else, e.g. -o {path.with_name(example)}",
            )
    return path


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or os.path.samefile(a, b)
    except OSError:  # one of them does not exist: then they are not one file
        return False
