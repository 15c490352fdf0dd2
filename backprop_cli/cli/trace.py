"""`backprop trace`: every number of a few training steps, layer by layer, forward then backward."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from backprop_cli.cli.sections import Block, heading, load_located, note, print_blocks


def trace(
    config: Annotated[Path, typer.Argument(help="Experiment YAML file.")],
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a key: optimizer.lr=0.1")] = None,
    steps: Annotated[int, typer.Option("--steps", min=1, max=1000, help="Training steps to show.")] = 1,
    rows: Annotated[
        Optional[int], typer.Option("--rows", min=1, max=4096, help="Rows of training data (default: the batch, ≤ 4).")
    ] = None,
    precision: Annotated[int, typer.Option("--precision", min=1, max=17, help="Significant digits shown.")] = 6,
    full: Annotated[
        bool, typer.Option("--full", help="Print large tensors whole instead of summarising them.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Every number of a few training steps of CONFIG: activations, loss, each gradient, each update."""
    from backprop_cli.cli.options import cap_threads

    cap_threads(1)
    from backprop_cli.runs.jsonio import dumps
    from backprop_cli.teach.trace import MAX_ENTRIES, run_trace

    _, result = load_located(config, set_, lambda cfg: run_trace(cfg, steps=steps, rows=rows, full=full))
    if as_json:
        print(dumps(result))
    else:
        print_blocks(blocks(result, precision))
    _notes(result, MAX_ENTRIES)
    if result["diverged"]:
        from backprop_cli.errors import DivergedError

        step = len(result["steps"])
        raise DivergedError(
            f"the loss or a gradient became non-finite at step {step}; its update was skipped (shown above)",
            fix="lower `optimizer.lr` or set `regularization.grad_clip_norm`",
        )


def _notes(r: dict, max_entries: int) -> None:
    if r["rows_requested"] is not None and r["rows"] < r["rows_requested"]:
        note(f"--rows {r['rows_requested']}: the training split has only {r['rows']} rows; traced all {r['rows']}")
    if r["rows_capped"]:
        note(f"traced the first {r['rows']} rows of the configured batch of {r['batch_size']}; --rows R to change")
    if r["summarised"]:
        shown = ", ".join(f"{name} {tuple(shape)}" for name, shape in list(r["summarised"].items())[:6])
        more = f" and {len(r['summarised']) - 6} more" if len(r["summarised"]) > 6 else ""
        note(
            f"{len(r['summarised'])} tensors have more than {max_entries} numbers and are summarised as shape, "
            f"first entries, norm, min and max: {shown}{more}; --full prints them whole"
        )


def show(t: dict | None, p: int) -> str:
    """A recorded tensor as text with p significant digits: its values, or its summary."""
    import numpy as np

    if t is None:
        return "not computed"
    fmt = lambda v: f"{v + 0.0:.{p}g}"  # noqa: E731  (+ 0.0: a -0.0, e.g. relu's dz, prints as 0)
    if "values" in t:
        a = np.asarray(t["values"], dtype=np.float64)
        return np.array2string(
            a, separator=", ", formatter={"float_kind": fmt}, threshold=sys.maxsize, max_line_width=110
        )
    first = ", ".join(fmt(v) for v in t["first"])
    return f"shape {tuple(t['shape'])}: [{first}, …]  norm {fmt(t['norm'])}  min {fmt(t['min'])}  max {fmt(t['max'])}"


def _lines(pairs: list[tuple[str, str]]) -> list[str]:
    """`name = value`, multi-line values indented under their name."""
    width = max(len(name) for name, _ in pairs)
    out = []
    for name, text in pairs:
        first, *rest = text.split("\n")
        out.append(f"{name:<{width}} = {first}")
        out.extend(" " * (width + 3) + line for line in rest)
    return out


def blocks(r: dict, p: int) -> list[Block]:
    out = [Block(f"data: {r['rows']} row(s), as the network sees them", _lines([
        ("x", show(r["inputs"], p)), ("t", show(r["targets"], p))]))]  # fmt: skip
    for s in r["steps"]:
        out.append(heading(f"STEP {s['step']}  FORWARD   lr {s['lr']:.{p}g}"))
        for row in s["forward"]:
            pairs = [
                ("x", show(row["x"], p)),
                *([("z", show(row["z"], p))] if "z" in row else []),
                ("y", show(row["y"], p)),
            ]
            out.append(Block(f"[{row['name']}] {row['type']}", _lines(pairs)))
        out.append(Block("loss", [f"L = {s['loss']:.{p}g}"]))
        out.append(heading(f"STEP {s['step']}  BACKWARD   the chain rule, last layer first"))
        out.append(Block("loss gradient", _lines([("dL/dpred", show(s["dL_dpred"], p))])))
        for row in s["backward"]:
            pairs = [("dy", show(row["dy"], p)), *([("dz", show(row["dz"], p))] if "dz" in row else [])]
            pairs += [(f"d{k}", show(g, p)) for k, g in row["grads"].items()] + [("dx", show(row["dx"], p))]
            out.append(Block(f"[{row['name']}] {row['type']}", _lines(pairs)))
        out.append(heading(f"STEP {s['step']}  UPDATE"))
        for param in s["params"]:
            out.append(
                Block(param["name"], _lines([("before", show(param["before"], p)), ("after", show(param["after"], p))]))
            )
    return out
