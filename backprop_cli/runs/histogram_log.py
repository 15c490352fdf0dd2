"""histograms.jsonl: one JSON object per sampled step, {"epoch", "step", "bins", "layers": {name: {z, y, dy}}}.

Appended durably like metrics.jsonl and read by the same tolerant reader (a torn last line is skipped);
a resumed run first drops the samples after its checkpoint's step, which it is about to take again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from backprop_cli.runs.atomic import append_line_durable, atomic_write_text
from backprop_cli.runs.jsonio import dumps
from backprop_cli.runs.metrics_log import read_metrics


def append_sample(path: str | os.PathLike[str], sample: dict[str, Any]) -> None:
    append_line_durable(path, dumps(sample))


def read_histograms(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every whole sample with a step and layers, in file order (a missing file is [])."""
    return [s for s in read_metrics(path) if isinstance(s.get("step"), int) and isinstance(s.get("layers"), dict)]


def drop_after(path: str | os.PathLike[str], step: int) -> None:
    """Keep the samples taken at or before `step`; rewrites the file only when something goes."""
    path = Path(path)
    if not path.is_file():
        return
    samples = read_histograms(path)
    kept = [s for s in samples if s["step"] <= step]
    if step == 0:
        path.unlink()
    elif len(kept) != len(samples) or path.stat().st_size != sum(len(dumps(s)) + 1 for s in samples):
        atomic_write_text(path, "".join(dumps(s) + "\n" for s in kept))
