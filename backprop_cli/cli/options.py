"""Option parsing shared by the verbs."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer

from backprop_cli.train.fpenv import subnormals_flushed  # noqa: F401  (the verbs import it from here)

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def cap_threads(threads: int | None) -> int | None:
    """Cap the BLAS threads of this process and of the processes it starts.

    The environment caps a BLAS that is not loaded yet (and workers started later); a BLAS already
    loaded (reading the config imports NumPy) reads it no more, so its pool is capped where it runs.
    """
    if threads is None:
        current = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
        return int(current) if current and current.isdecimal() else os.cpu_count()
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    if "numpy" in sys.modules:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads, user_api="blas")  # for the rest of the process
    return threads


@dataclass(frozen=True)
class FiniteFloat:
    """The parser of every float option: a finite number in [low, high] (or exactly 0 when `zero` says what 0
    means), checked when the command line is parsed, so that no inf, NaN, 1e400 or subnormal value reaches
    arithmetic that it would overflow. A bad value is a usage error (exit 2) naming the option."""

    low: float
    high: float
    zero: str | None = None  # what 0 means, when 0 is allowed below `low` ("always the likeliest")

    def __call__(self, text: str | float) -> float:
        try:
            value = float(text)
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not a number; {self.allowed()}") from None
        if value == 0 and self.zero is not None:
            return 0.0
        if not math.isfinite(value) or not self.low <= value <= self.high:
            raise typer.BadParameter(f"{text} is out of range; {self.allowed()}")
        return value

    def allowed(self) -> str:
        zero = f" or 0 ({self.zero})" if self.zero is not None else ""
        return f"give a finite number from {self.low:g} to {self.high:g}{zero}"


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
