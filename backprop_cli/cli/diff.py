"""`backprop diff RUN_A RUN_B`: re-run both in lock-step; identical (exit 0) or where they part (exit 1)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from backprop_cli.cli.options import FiniteFloat
from backprop_cli.limits import DIFF_TOLERANCE_RANGE

TOLERANCE = FiniteFloat(*DIFF_TOLERANCE_RANGE, zero="bit-identical")


def diff(
    run_a: Annotated[Path, typer.Argument(metavar="RUN_A", help="A run directory, or a config file.")],
    run_b: Annotated[Path, typer.Argument(metavar="RUN_B", help="The other run directory, or config file.")],
    steps: Annotated[
        int, typer.Option("--steps", metavar="N", min=1, max=10_000_000, help="Steps compared at most.")
    ] = 100,
    tolerance: Annotated[
        float,
        typer.Option(
            "--tolerance", metavar="X", parser=TOLERANCE, help="Largest |Δ| that counts as equal (0: bit-identical)."
        ),
    ] = 0.0,
    env_a: Annotated[
        Optional[list[str]],
        typer.Option("--env-a", metavar="KEY=VALUE", help="Run side A in a process with this variable set."),
    ] = None,
    env_b: Annotated[
        Optional[list[str]],
        typer.Option("--env-b", metavar="KEY=VALUE", help="Side B's variable: BACKPROP_NO_NUMBA=1."),
    ] = None,
    python_b: Annotated[
        Optional[str],
        typer.Option("--python-b", metavar="PATH", help="Run side B with another Python (another NumPy)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Re-execute both runs' configs from their start in lock-step, comparing every parameter, gradient and
    optimizer slot after every step: where and how fast two runs that should be equal part."""
    from backprop_cli.runs.jsonio import dumps
    from backprop_cli.teach.diff import Side, diff_configs

    config_a, config_b = _config_of(run_a), _config_of(run_b)
    sides = (Side(_env(env_a, "--env-a")), Side(_env(env_b, "--env-b"), python_b))
    result = diff_configs(config_a, config_b, steps, tolerance, sides)
    result.update(a=str(run_a), b=str(run_b))
    print(dumps(result) if as_json else "\n".join(describe(result)))
    if not result["identical"]:
        sys.exit(1)


def _config_of(path: Path):
    """A config file itself, or a run's config.yaml (a run directory, or the name of one: runs/spirals)."""
    from backprop_cli.config.load import load_config
    from backprop_cli.runs.listing import open_run
    from backprop_cli.runs.rundir import RunFiles

    return load_config(path if path.is_file() else RunFiles(open_run(path).path).config).config


def _env(pairs: list[str] | None, option: str) -> dict[str, str]:
    from backprop_cli.errors import UserError

    env = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserError(f"{pair!r} is not KEY=VALUE", where=option, fix=f"e.g. {option} BACKPROP_NO_NUMBA=1")
        env[key] = value
    return env


def describe(r: dict) -> list[str]:
    lines = []
    if r["config_differences"]:
        lines.append("config keys that differ:")
        lines += [f"  {key}: {a!r} -> {b!r}" for key, (a, b) in r["config_differences"].items()]
    else:
        lines.append("the configs are identical")
    first = r["first"]
    if first is None:
        lines.append(
            f"identical for {r['steps_compared']} steps" + (f" (|Δ| <= {r['tolerance']:g})" if r["tolerance"] else "")
        )
        if r["ended"]:
            lines.append(f"then side {r['ended']}")
        return lines
    if "structure" in first:
        s = first["structure"]
        lines.append("the two networks differ in shape: they cannot be compared step by step")
        lines += [f"  only in A: {', '.join(s['only_in_a'])}"] if s["only_in_a"] else []
        lines += [f"  only in B: {', '.join(s['only_in_b'])}"] if s["only_in_b"] else []
        lines += [f"  {name}: {a} vs {b}" for name, (a, b) in s["shapes"].items()]
        return lines
    when = "at initialization (step 0)" if first["step"] == 0 else f"at step {first['step']}"
    lines.append(
        f"they part {when}: layer {first['layer']}, tensor {first['tensor']}, max |Δ| {first['max_abs_diff']:.3g}"
    )
    lines.append(f"  {len(first['differing'])} tensors differ there:")
    lines += [f"    {d['tensor']:<28} max |Δ| {d['max_abs_diff']:.3g}" for d in first["differing"][:20]]
    lines.append("how the largest parameter difference grows:")
    lines += [f"  step {g['step']:>6}: {g['max_abs_diff']:.3g}" for g in r["growth"]]
    return lines
