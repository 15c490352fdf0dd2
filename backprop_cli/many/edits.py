"""`sweep --resume`: a sweep file edited after the sweep was planned is named, with each difference.

The plan decides what a resumed sweep runs; an edit would be silently ignored (or, for a sampler
that reads the file, half applied). So the copy in the sweep directory (sweep.yaml) and the file the
sweep was started from, where it still exists, are compared with the plan's record of the file.
"""

from __future__ import annotations

from pathlib import Path

from backprop_cli.errors import ConfigError
from backprop_cli.many.study import Plan
from backprop_cli.train.resume import describe_changes, differences


def check_unedited(directory: str | Path, plan: Plan) -> None:
    """ConfigError naming each key of a sweep file that differs from what the plan was made from."""
    if plan.sweep is None:
        return
    for path in (Path(directory) / "sweep.yaml", Path(plan.source) if plan.source else None):
        if path is not None and path.is_file():
            _compare(path, plan.sweep)


def _compare(path: Path, planned: dict) -> None:
    from backprop_cli.many.plans import resolved_sweep
    from backprop_cli.many.spec import load_sweep

    fix = "put it back as it was (plan.json decides what a resumed sweep runs), or start a new sweep with it"
    try:
        now = resolved_sweep(load_sweep(path))
    except ConfigError as err:
        raise ConfigError(
            f"was edited after the sweep was planned, and is no longer valid: {err}", where=str(path), fix=fix
        ) from None
    changes = list(differences(planned, now))
    if changes:
        raise ConfigError(
            f"was edited after the sweep was planned:\n{describe_changes(changes)}", where=str(path), fix=fix
        )
