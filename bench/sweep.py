"""`python -m bench.sweep [--repeats N] [--epochs E]`: a 12-trial sweep of the MNIST MLP on 2 local workers
(1 BLAS thread each) against the same trials run one after another (1 worker, 2 BLAS threads): the
same 2 cores either way. Reports each wall time and their ratio (the aim: <= 0.6); the two
modes alternate within a repeat, so that a noisy host hits both alike. Writes bench/results/<stamp>-sweep.*.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, cpu_name, write_json
from bench.run import RESULTS, backprop_argv, measure

SWEEP = """\
base: {base}
method: grid
parameters:
  optimizer.lr: [0.0005, 0.001, 0.002]
  model.layers.1.units: [256, 512]
  training.batch_size: [128, 256]
  training.epochs: [{epochs}]
metric: val_accuracy
"""
MODES = {"2 workers x 1 thread": ("2", "1"), "1 worker x 2 threads (one after another)": ("1", "2")}
SINGLE = {"1 worker x 1 thread (one after another)": ("1", "1")}  # --single: the speed-up of processes alone


def run_once(scratch: Path, sweep_file: Path, workers: str, threads: str) -> dict:
    argv = [*backprop_argv(), "sweep", str(sweep_file), "--workers", workers, "--threads", threads]
    result = measure([*argv, "--runs-dir", str(scratch), "--json"], scratch)
    trials = json.loads(result["stdout"])["trials"]
    assert len(trials) == 12 and all(t["status"] == "completed" for t in trials), trials
    return {"wall_s": result["wall_s"], "best_val_accuracy": trials[0]["val_accuracy"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=1, help="epochs per trial")
    parser.add_argument("--single", action="store_true", help="also one after another with 1 thread")
    args = parser.parse_args(argv)
    modes = {**MODES, **(SINGLE if args.single else {})}
    walls: dict[str, list[float]] = {mode: [] for mode in modes}
    loads: list[float] = []  # the host's 1-minute load average after each measurement: other work skews both
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        scratch = Path(tmp)
        sweep_file = scratch / "mnist-sweep.yaml"
        sweep_file.write_text(SWEEP.format(base=ROOT / "configs" / "mnist-mlp.yaml", epochs=args.epochs))
        for repeat in range(args.repeats):
            order = list(modes) if repeat % 2 == 0 else list(reversed(modes))
            for i, mode in enumerate(order):
                (scratch / str(i)).mkdir(exist_ok=True)
                result = run_once(scratch / str(i), sweep_file, *modes[mode])
                walls[mode].append(result["wall_s"])
                loads.append(os.getloadavg()[0])
                print(f"{mode}: {result['wall_s']:.1f} s (load average {loads[-1]:.1f})", flush=True)
    report(walls, loads, args)


def report(walls: dict[str, list[float]], loads: list[float], args) -> None:
    parallel, sequential = (statistics.median(walls[m]) for m in MODES)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    lines = [
        f"# 12-trial MNIST MLP sweep, {args.epochs} epoch(s) per trial, {stamp}",
        "",
        f"CPU: {cpu_name()}, {os.cpu_count()} logical; median of {args.repeats} repeat(s), modes alternating;",
        f"load average after each measurement: {', '.join(f'{x:.1f}' for x in loads)}.",
        "",
        "| mode | wall s (each) |",
        "|---|---|",
        *(f"| {m} | {statistics.median(w):.1f} ({', '.join(f'{x:.1f}' for x in w)}) |" for m, w in walls.items()),
        "",
        f"ratio (2 workers / one after another with 2 threads): {parallel / sequential:.2f}",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stamp}-sweep.md").write_text(text)
    data = {"walls": walls, "ratio": parallel / sequential, "epochs": args.epochs, "load_average": loads}
    write_json(RESULTS / f"{stamp}-sweep.json", data)


if __name__ == "__main__":
    main()
