"""Where the user asks us to write a file (`-o FILE`): checked before any work, so a wrong path is the
user's mistake (exit 2) with its fix, not a write failure (exit 1) after the work is done."""

from __future__ import annotations

from pathlib import Path

from backprop_cli.errors import UserError


def check_output_file(path: Path, example: str) -> Path:
    """`path` if a file can be created there: not a directory, in a folder that exists. `example`: a file
    name to suggest inside a directory the user gave (e.g. "model.onnx")."""
    if path.is_dir():
        raise UserError("is a directory", where=str(path), fix=f"name the file, e.g. -o {path / example}")
    if not path.parent.is_dir():
        raise UserError(f"no such directory: {path.parent}", where=str(path), fix="create it, or pick another -o")
    return path
