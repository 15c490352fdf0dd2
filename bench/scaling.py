"""How cost grows with size: `python -m bench --scaling [--axes batch width length image] [--threads 2]`.

One size grows at a time, the rest at the workload's defaults (bench/nets.py):

    batch   the MNIST MLP (784-512-256-10), batch 32 ... 1024
    width   the MNIST MLP 784-W-W/2-10, W = 64 ... 2048, batch 128
    length  the char LSTM and the char transformer, sequence length 16 ... 512, batch 32
    image   the CNN on one-channel images of 16 ... 128 pixels a side, batch 32

Each point is one side (backprop or PyTorch) of one network at one size, measured in a fresh process
(`python -m bench.pace --point`): the median wall time of `--steps` training steps after one untimed
(or, `--clock cpu`, the default with one thread, the process's CPU time per step: the steadier figure
on a shared host), and the memory those steps add (the peak RSS above the RSS before the first step). Epoch time is
the step time times the steps of an epoch: 60,000 images for the MLP and the CNN, 2,812 sequences
(the bundled Shakespeare's training windows at context 64) at every length, so that an epoch's time
grows as a step's. Each curve gets the exponent of a least-squares line through its points on
log-log axes, over the upper half of the sizes (where the fixed costs no longer hide the growth).
Writes one PNG per axis, bench/results/scaling-<axis>.png, and the table to
bench/results/<stamp>-scaling.md (raw figures in the .json beside it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, THREADS, child_env, cpu_name, write_json

RESULTS = ROOT / "bench" / "results"
AXES = {  # axis -> (label, [(network, size key)], sizes)
    "batch": ("batch size", [("mlp", "batch")], [32, 64, 128, 256, 512, 1024]),
    "width": ("hidden width", [("mlp", "width")], [64, 128, 256, 512, 1024, 2048]),
    "length": ("sequence length", [("lstm-char", "length"), ("transformer", "length")], [16, 32, 64, 128, 256, 512]),
    "image": ("image side, pixels", [("cnn", "image")], [16, 32, 64, 128]),
}
FIXED = {"image": {"batch": 32}}  # the other sizes an axis holds fixed away from the network's defaults
IMPLS = ("backprop", "torch")
EPOCH_FIELD = {"wall": "epoch_s", "cpu": "cpu_epoch_s"}


def measure_point(net: str, impl: str, size: dict, threads: int, steps: int) -> dict:
    """One side of one network at one size, in a fresh process with `threads` threads."""
    with tempfile.TemporaryDirectory(prefix="backprop-scaling-") as tmp:
        out = Path(tmp) / "point.json"
        argv = [sys.executable, "-m", "bench.pace", "--point", net, impl, "--threads", str(threads)]
        argv += ["--steps", str(steps), "--out", str(out), "--size", *(f"{k}={v}" for k, v in size.items())]
        subprocess.run(argv, env=child_env(threads), cwd=ROOT, check=True)
        return json.loads(out.read_text())


def exponent(sizes: list[float], values: list[float]) -> float:
    """The slope of log(value) against log(size) over the upper half of the points (least squares)."""
    pairs = [(math.log(s), math.log(v)) for s, v in zip(sizes, values) if v > 0][len(sizes) // 2 - 1 :]
    mx, my = (sum(p[i] for p in pairs) / len(pairs) for i in (0, 1))
    sxx = sum((x - mx) ** 2 for x, _ in pairs)
    return sum((x - mx) * (y - my) for x, y in pairs) / sxx if sxx else float("nan")


def run_axis(axis: str, threads: int, steps: int) -> list[dict]:
    """Every point of one axis, the two sides interleaved at each size."""
    _, curves, sizes = AXES[axis]
    points = []
    for net, key in curves:
        for value in sizes:
            for impl in IMPLS:
                size = {**FIXED.get(axis, {}), key: value}
                result = measure_point(net, impl, size, threads, steps)
                points.append({"axis": axis, "net": net, "impl": impl, "size": value, **result})
                print(
                    f"{axis:6} {net:11} {key}={value:<5} {impl:8} step {1e3 * result['step_s']:8.1f} ms wall, "
                    f"{1e3 * result['cpu_step_s']:8.1f} ms CPU  "
                    f"+{result['memory_mb']:7.1f} MB",
                    file=sys.stderr,
                    flush=True,
                )
    return points


def curves_of(points: list[dict], axis: str, clock: str) -> list[dict]:
    """One curve per (network, side): sizes, epoch seconds, MB, and the fitted exponent of each."""
    out = []
    for net, _ in AXES[axis][1]:
        for impl in IMPLS:
            mine = (p for p in points if p["axis"] == axis and p["net"] == net and p["impl"] == impl)
            rows = sorted(mine, key=lambda p: p["size"])
            if not rows:
                continue
            sizes = [p["size"] for p in rows]
            epoch, memory = [p[EPOCH_FIELD[clock]] for p in rows], [p["memory_mb"] for p in rows]
            out.append(
                {
                    "net": net, "impl": impl, "sizes": sizes, "epoch_s": epoch, "memory_mb": memory,
                    "time_exponent": exponent(sizes, epoch), "memory_exponent": exponent(sizes, memory),
                }
            )  # fmt: skip
    return out


def plot(axis: str, curves: list[dict], meta: dict, path: Path) -> None:
    """Epoch time and peak memory against the axis, log-log, ours solid and PyTorch dashed."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for c in curves:
        style = {"linestyle": "-" if c["impl"] == "backprop" else "--", "marker": "o"}
        name = f"{c['net']} {c['impl']}"
        left.plot(c["sizes"], c["epoch_s"], label=f"{name} (exponent {c['time_exponent']:.2f})", **style)
        right.plot(c["sizes"], c["memory_mb"], label=f"{name} (exponent {c['memory_exponent']:.2f})", **style)
    for ax, title in ((left, "epoch time, s"), (right, "memory a training step adds, MB")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel(AXES[axis][0])
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    title = f"{AXES[axis][0]}: backprop vs PyTorch, {meta['threads']} thread(s), {meta['clock']} time, {meta['date']}"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(axis: str, curves: list[dict]) -> str:
    label, _, sizes = AXES[axis]
    lines = [f"### {label}", "", f"| network | side | {' | '.join(map(str, sizes))} | exponent |", "|---|---|"]
    lines[-1] += "---|" * (len(sizes) + 1)
    for c in curves:
        for what, values, exp in (
            ("epoch s", c["epoch_s"], c["time_exponent"]),
            ("MB", c["memory_mb"], c["memory_exponent"]),
        ):
            cells = " | ".join(f"{v:.3g}" for v in values)
            lines.append(f"| {c['net']} | {c['impl']} {what} | {cells} | {exp:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench --scaling", description=__doc__.split("\n")[0])
    parser.add_argument("--axes", nargs="*", choices=list(AXES), default=list(AXES))
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per point")
    parser.add_argument("--clock", choices=tuple(EPOCH_FIELD), help="default: cpu with one thread, else wall")
    parser.add_argument("--report", type=Path, help="redraw a saved run's tables and pictures; measure nothing")
    args = parser.parse_args(argv)
    if args.report:
        saved = json.loads(args.report.read_text())
        axes = [a for a in AXES if any(p["axis"] == a for p in saved["points"])]
        text = render(saved["points"], saved["meta"], axes)
        args.report.with_suffix(".md").write_text(text)
        print(text)
        return
    args.clock = args.clock or ("cpu" if args.threads == 1 else "wall")
    load_start = os.getloadavg()
    points = [p for axis in args.axes for p in run_axis(axis, args.threads, args.steps)]
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "cpu": cpu_name(), "threads": args.threads, "steps": args.steps,
        "clock": args.clock, "load_start": load_start, "load": os.getloadavg(),
    }  # fmt: skip
    stamp = time.strftime("%Y%m%d-%H%M%S") + "-scaling"
    write_json(RESULTS / f"{stamp}.json", {"meta": meta, "points": points})
    text = render(points, meta, args.axes)
    (RESULTS / f"{stamp}.md").write_text(text)
    print(text)


def render(points: list[dict], meta: dict, axes: list[str]) -> str:
    """The tables (returned) and one PNG per axis (written to bench/results/scaling-<axis>.png)."""
    RESULTS.mkdir(exist_ok=True)
    text = [
        f"## Scaling, {meta['date']}",
        "",
        f"{meta['cpu']}; {meta['threads']} thread(s) each; {meta['steps']} timed steps per point ({meta['clock']} "
        f"time), each point a fresh process; host load {meta['load_start'][0]:.1f} at the start, "
        f"{meta['load'][0]:.1f} at the end. Exponents: least squares on log-log axes over the upper half of the sizes.",
        "",
    ]
    for axis in axes:
        curves = curves_of(points, axis, meta["clock"])
        plot(axis, curves, meta, RESULTS / f"scaling-{axis}.png")
        text.append(table(axis, curves))
    return "\n".join(text)
