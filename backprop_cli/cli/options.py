"""Option parsing shared by the verbs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from backprop_cli.train.fpenv import subnormals_flushed  # noqa: F401  (the verbs import it from here)

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def cap_threads(threads: int | None) -> int | None:
    """Cap the BLAS threads; effective only before NumPy is first imported, which the verbs ensure."""
    if threads is None:
        current = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
        return int(current) if current and current.isdecimal() else os.cpu_count()
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    return threads


PluginFiles = Annotated[
    Optional[list[Path]],
    typer.Option(
        "--plugin",
        metavar="FILE",
        help="The plugin layer file the run was trained with (its SHA-256 must match); repeat for several.",
    ),
]


def hand_over_plugins(files: list[Path] | None) -> None:
    """The user's plugin files for a trained model: read and hashed now, executed only if a layer names
    that hash (nn/plugin_source.py); a run directory or checkpoint never supplies code itself."""
    from backprop_cli.errors import UserError
    from backprop_cli.nn.plugin_source import provide_file

    for path in files or []:
        provide_file(path, where=f"--plugin {path}", error=UserError)
