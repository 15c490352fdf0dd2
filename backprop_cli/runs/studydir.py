"""A sweep's or a cross-validation's directory met where a run is expected: what to say instead.

The study's schema lives in `many/`; this lower floor only recognises one (its plan.json) and reads
its kind, so that `train --resume`, `eval`, `predict` and friends can point at the trials inside and
at the verb that continues the study.
"""

from __future__ import annotations

import json
from pathlib import Path

from backprop_cli.runs.rundir import is_run_dir

PLAN_FILE = "plan.json"
PLAN_LIMIT = 64 * 2**20  # 10,000 trials of a few KB each
RESUME = {"sweep": "backprop sweep --resume", "cv": "backprop cv --resume"}


def study_kind(path: str | Path) -> str | None:
    """ "sweep" or "cv" when `path` holds a study's plan.json (read bounded), else None."""
    from backprop_cli.errors import UserError
    from backprop_cli.userfiles import read_regular

    plan = Path(path) / PLAN_FILE
    try:
        kind = json.loads(read_regular(plan, str(plan), PLAN_LIMIT)).get("kind")
    except (OSError, ValueError, AttributeError, RecursionError, UserError):
        return None
    return kind if kind in RESUME else None


def study_pointer(path: str | Path) -> tuple[str, str] | None:
    """(what, fix) for a study directory given where one run belongs; None when it is not one."""
    kind = study_kind(path)
    if kind is None:
        return None
    runs = sorted(p for p in Path(path).rglob("*") if p.is_dir() and is_run_dir(p))
    example = f" (e.g. {runs[0]})" if runs else ""
    what = f"{path} is a {kind} directory, not a run: its {len(runs)} runs are directories inside it{example}"
    fix = f"give one of those runs (`backprop runs list {path}` lists them), "
    fix += f"or continue the {kind} with `{RESUME[kind]} {path}`"
    return what, fix
