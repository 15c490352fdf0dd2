"""`backprop explain`: the chain rule of the configured network, layer by layer, with its real shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from backprop_cli.cli.sections import Block, heading, load_located, print_blocks


def explain(
    config: Annotated[Path, typer.Argument(help="Experiment YAML file.")],
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a key: training.batch_size=32")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The forward formula and chain-rule backward of every layer of CONFIG, with shapes, FLOPs and memory."""
    from backprop_cli.cli.options import cap_threads

    cap_threads(1)  # a few small batches: threads would only wait on each other
    from backprop_cli.runs.jsonio import dumps
    from backprop_cli.teach.explain import explain_network

    _, report = load_located(config, set_, explain_network)
    if as_json:
        print(dumps(report))
    else:
        print_blocks(blocks(report))


def blocks(r: dict) -> list[Block]:
    from backprop_cli.teach.explain import human_bytes, human_count, per_example

    t, n = r["totals"], r["batch"]
    out = [heading(f"FORWARD  {r['config']}: batch N = {n}, {r['dtype']}, input {per_example(r['input_shape'])}")]
    for row in r["layers"]:
        shapes = f"{per_example(row['input_shape'])} → {per_example(row['output_shape'])}"
        params = ", ".join(f"{k} {'×'.join(map(str, s))}" for k, s in row["params"].items())
        figures = f"FLOPs {human_count(row['flops']['forward'])}"
        figures += f"   params {human_bytes(row['param_bytes'])}" if row["params"] else ""
        figures += f"   kept for backward {human_bytes(row['kept_bytes'])}"
        title = f"{'  ' * row['depth']}[{row['name']}] {row['type']}   {shapes}" + (f"   {params}" if params else "")
        out.append(Block(title, [*row["forward"], figures]))
    loss = r["loss"]
    out.append(Block(f"loss: {loss['type']} of pred {per_example(loss['input_shape'])}", loss["forward"]))
    out.append(heading("BACKWARD  the chain rule, last layer first: each layer gets dL/dy and passes on dL/dx"))
    out.append(Block(f"loss: {loss['type']}", [*loss["backward"], "this is dy of the last layer"]))
    by_name = {row["name"]: row for row in r["layers"]}
    for name in r["backward_order"]:
        row = by_name[name]
        skipped = row["backward"][-1].startswith(("dx: not", "not run"))
        passes = "nothing" if skipped else f"dx {per_example(row['input_shape'])}"
        receives = f"receives dy {per_example(row['output_shape'])}, passes on {passes}"
        receives = "backward not run in training" if row["backward"][0].startswith("not run") else receives
        figures = f"FLOPs {human_count(row['flops']['backward'])}"
        out.append(Block(f"{'  ' * row['depth']}[{name}] {row['type']}   {receives}", [*row["backward"], figures]))
    opt, sched = r["optimizer"], r["schedule"]
    hyper = ", ".join(f"{k} {v:g}" for k, v in opt["hyperparameters"].items())
    rule = [*opt["rule"], f"schedule {sched['type']}: {sched['rule']};  lr at step 1: {sched['lr_at_step_1']:g}"]
    rule += [f"regularization: {', '.join(f'{k} {v:g}' for k, v in opt['regularization'].items())}"] * bool(
        opt["regularization"]
    )
    out.append(heading("UPDATE  every parameter p with its gradient g"))
    out.append(Block(f"{opt['type']} ({hyper})", rule))
    out.append(heading(f"TOTALS  one training step at batch {n}"))
    out.append(Block("FLOPs (layers; a multiply-add counts 2)", [
        f"forward {human_count(t['flops_forward'])}, backward {human_count(t['flops_backward'])}, "
        f"step {human_count(t['flops_step'])}",
    ]))  # fmt: skip
    memory = [
        f"parameters   {human_bytes(t['param_bytes'])}  ({t['param_count']:,} numbers)",
        f"gradients    {human_bytes(t['grad_bytes'])}",
        f"optimizer    {human_bytes(t['optimizer_state_bytes'])} state + {human_bytes(t['optimizer_work_bytes'])} work",
        f"activations  {human_bytes(t['activation_bytes'])}  (kept from forward for backward)",
        f"total        {human_bytes(t['step_bytes'])}",
    ]
    if t["state_bytes"]:
        memory.insert(1, f"state        {human_bytes(t['state_bytes'])}  (running statistics)")
    out.append(Block("memory", memory))
    return out
