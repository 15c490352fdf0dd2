"""`backprop diff`: two runs re-executed in lock-step, every tensor compared after every step.

Each side is a config (a run's config.yaml, or a config file) replayed by teach/lockstep.py, in this
process or, when it is given its own environment or Python, in a worker process. The first step at
which any tensor differs by more than `tolerance` is reported with every tensor that differs there
(parameters in network order, then gradients, layer state and optimizer slots), the config keys in
which the two sides differ, and how the largest parameter difference grows over the next steps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from backprop_cli.errors import UserError
from backprop_cli.runs.compare import differing_keys

FOLLOW = 10  # steps the gap is followed after the two sides part


@dataclass
class Side:
    """How one side runs: in this process, or in a worker with extra environment variables / another Python."""

    env: dict[str, str] = field(default_factory=dict)
    python: str | None = None

    @property
    def in_process(self) -> bool:
        return not self.env and self.python is None


def _stream(config, steps: int, side: Side) -> Iterator[dict[str, np.ndarray]]:
    from backprop_cli.teach.lockstep import read_frame, step_tensors

    if side.in_process:
        yield from step_tensors(config, steps)
        return
    argv = [
        side.python or sys.executable,
        "-m",
        "backprop_cli.teach.lockstep",
        json.dumps(config.model_dump(mode="json")),
        str(steps),
    ]
    try:
        worker = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **side.env})
    except OSError as err:
        raise UserError(f"cannot run {argv[0]}: {err.strerror or err}", where="--python-b",
                        fix="give the path of a Python that has backprop installed") from None  # fmt: skip
    try:
        while (frame := read_frame(worker.stdout)) is not None:
            yield frame
    finally:
        worker.stdout.close()
        worker.kill() if worker.poll() is None else None
        stderr = worker.stderr.read().decode(errors="replace").strip()
        worker.wait()
        if worker.returncode not in (0, -9) and stderr:
            option = "--python-b" if side.python else "--env-a/--env-b"
            raise UserError(
                f"a side of the diff failed in its own process: {stderr.splitlines()[-1]}",
                where=option,
                fix="check that Python and environment: the side must run `backprop train` there",
            )


def _layer_of(tensor: str) -> str:
    name = tensor.removeprefix("grad.")
    return "optimizer" if name.startswith("optimizer.") else name.rsplit(".", 1)[0]


def _gap(a: np.ndarray, b: np.ndarray) -> float:
    with np.errstate(invalid="ignore", over="ignore"):
        return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)), initial=0.0))


def _structure(a: dict, b: dict) -> dict | None:
    """Tensors one side has and the other lacks, or with other shapes: two different networks."""
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    shapes = {k: [list(a[k].shape), list(b[k].shape)] for k in a if k in b and a[k].shape != b[k].shape}
    if only_a or only_b or shapes:
        return {"only_in_a": only_a, "only_in_b": only_b, "shapes": shapes}
    return None


def _params_gap(a: dict, b: dict) -> float:
    return max((_gap(a[k], b[k]) for k in a if not k.startswith(("grad.", "optimizer."))), default=0.0)


def diff_configs(config_a, config_b, steps: int, tolerance: float = 0.0, sides=(Side(), Side())) -> dict:
    """The comparison as plain data: identical for how many steps, or where and how the two parted."""
    result = {
        "config_differences": differing_keys([config_a.model_dump(mode="json"), config_b.model_dump(mode="json")]),
        "tolerance": tolerance,
        "steps_compared": 0,
        "identical": True,
        "first": None,
        "growth": [],
        "ended": None,
    }
    stream_a, stream_b = _stream(config_a, steps, sides[0]), _stream(config_b, steps, sides[1])
    try:
        _compare(stream_a, stream_b, tolerance, result)
        result["ended"] = _ended(stream_a, stream_b, result)
    finally:
        stream_a.close()
        stream_b.close()
    return result


def _compare(stream_a, stream_b, tolerance: float, result: dict) -> None:
    for step, (a, b) in enumerate(zip(stream_a, stream_b)):
        if step == 0 and (structure := _structure(a, b)) is not None:
            result.update(identical=False, first={"step": 0, "structure": structure})
            return
        result["steps_compared"] = step
        if result["first"] is None:
            differing = [
                {"tensor": k, "layer": _layer_of(k), "max_abs_diff": d}
                for k in a
                if (d := _gap(a[k], b[k])) > tolerance
            ]
            if differing:
                result.update(identical=False, first={"step": step, **differing[0], "differing": differing})
        if result["first"] is not None:
            result["growth"].append({"step": step, "max_abs_diff": _params_gap(a, b)})
            if step >= result["first"]["step"] + FOLLOW:
                return


def _ended(stream_a, stream_b, result: dict) -> str | None:
    """Which side ran out of steps first, when the other still had some (a shorter run)."""
    if not result["identical"]:
        return None
    more_a, more_b = next(stream_a, None) is not None, next(stream_b, None) is not None
    if more_a != more_b:
        return f"{'b' if more_a else 'a'} ended after step {result['steps_compared']}"
    return None
