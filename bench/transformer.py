"""A character transformer, backprop against the same network in PyTorch (CPU), 2 threads each, same run.

    python -m bench.transformer [--epochs 3] [--repeats 2] [--threads 2]

Workload: the bundled Shakespeare (200 KB), context 64, embedding 64 + learned positions, 2 pre-norm
blocks (layernorm -> 4-head causal attention; layernorm -> dense 256 gelu -> dense 64, each in a
residual), a final layernorm and a per-step dense to the 62 characters; cross-entropy over every step,
Adam lr 0.003, batch 32, float32: 88 steps per epoch. Each measurement is a fresh process
(`python -m bench.transformer --worker KIND OUT.json`) with OMP/OPENBLAS_NUM_THREADS=T (and
torch.set_num_threads(T)), T = --threads (2 by default); repeats are interleaved. On a host busy
with other jobs two-thread runs wait on each other (a 2-thread PyTorch epoch took 6.7 minutes of
wall time for 1.1 minutes of CPU on 2026-12-02), so `--threads 1` gives the steadier comparison.
Epoch time: the median of epochs 2..E; peak RSS:
the process's ru_maxrss from wait4, imports and data included.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, child_env, cpu_name, later_epochs_median, write_json

KINDS = ("backprop", "torch")
THREADS = int(os.environ.get("BENCH_THREADS", "2"))  # set by the harness for its workers
CONTEXT, DIM, HEADS, BLOCKS, HIDDEN, BATCH, LR = 64, 64, 4, 2, 256, 32, 0.003


def config_yaml(epochs: int) -> str:
    block = (
        f"    - {{type: residual, layers: [{{type: layernorm}}, {{type: attention, heads: {HEADS}}}]}}\n"
        f"    - {{type: residual, layers: [{{type: layernorm}}, {{type: dense, units: {HIDDEN}, activation: gelu,"
        f" per_step: true}}, {{type: dense, units: {DIM}, per_step: true}}]}}\n"
    )
    return (
        f"name: bench-transformer\nseed: 0\ndata: {{dataset: shakespeare, context: {CONTEXT}}}\n"
        f"model:\n  layers:\n    - {{type: embedding, dim: {DIM}}}\n    - {{type: positional}}\n"
        + block
        * BLOCKS
        + "    - {type: layernorm}\n    - {type: dense, units: 62, per_step: true}\n"
        f"optimizer: {{type: adam, lr: {LR}}}\n"
        f"training: {{epochs: {epochs}, batch_size: {BATCH}, threads: {THREADS}}}\n"
        "diagnostics: {monitor: false}\n"
    )


def run_backprop(epochs: int) -> dict:
    """build_parts + fit through the library: no run directory, no progress output."""
    import yaml

    from backprop_cli.config.load import config_from_dict
    from backprop_cli.train.callbacks import Callback, CallbackList
    from backprop_cli.train.loop import fit
    from backprop_cli.train.setup import build_parts

    class EpochLogs(Callback):
        def __init__(self):
            self.logs: list[dict] = []

        def on_epoch_end(self, trainer, logs):
            self.logs.append(logs)

    parts = build_parts(config_from_dict(yaml.safe_load(config_yaml(epochs)), source="bench"))
    parts.trainer.optimizer.threads = THREADS
    logs = EpochLogs()
    fit(parts.trainer, CallbackList([logs]))
    return {
        "epoch_times": [log["epoch_time_s"] for log in logs.logs],
        "train_loss": logs.logs[-1]["train_loss"],
        "val_loss": logs.logs[-1]["val_loss"],
        "params": parts.model.param_count,
    }


def run_torch(epochs: int) -> dict:
    """The same network in PyTorch (bench/sequences.py's workload 10, as the full bench runs it)."""
    from bench.sequences import run_torch as run_torch_sequence

    return run_torch_sequence("transformer", epochs, THREADS)


def measure(kind: str, epochs: int, threads: int) -> dict:
    """One fresh process; its result plus peak RSS (MB) from wait4."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "bench.transformer", "--worker", kind, str(out), "--epochs", str(epochs)]
        env = {**child_env(threads), "BENCH_THREADS": str(threads)}
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        if status != 0:
            raise SystemExit(f"{kind} failed with status {status}")
        result = json.loads(out.read_text())
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    result["epoch_s"] = later_epochs_median(result["epoch_times"])
    return result


def table(runs: dict[str, list[dict]]) -> str:
    base = statistics.median(r["epoch_s"] for r in runs["torch"])
    rows = [
        "| implementation | epoch s, median [min–max] | × PyTorch | peak RSS MB | params | train loss | val loss |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, results in runs.items():
        epochs = [r["epoch_s"] for r in results]
        median = statistics.median(epochs)
        rows.append(
            f"| {kind} | {median:.2f} [{min(epochs):.2f}–{max(epochs):.2f}] | {median / base:.2f} | "
            f"{statistics.median(r['peak_rss_mb'] for r in results):.0f} | {results[0]['params']:,} | "
            f"{results[-1]['train_loss']:.3f} | {results[-1]['val_loss']:.3f} |"
        )
    return "\n".join(rows)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.transformer", description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, out = args.worker
        write_json(out, run_backprop(args.epochs) if kind == "backprop" else run_torch(args.epochs))
        return
    runs: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    for r in range(args.repeats):  # interleaved, the order rotated each repeat
        for kind in KINDS[r % 2 :] + KINDS[: r % 2]:
            runs[kind].append(measure(kind, args.epochs, args.threads))
            print(f"{kind}: {runs[kind][-1]['epoch_s']:.2f} s/epoch", file=sys.stderr)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = (
        f"# Transformer workload, {stamp}\n\n{cpu_name()}; {args.threads} thread(s) each; {args.epochs} epochs, "
        f"{args.repeats} repeats\n\n{table(runs)}\n"
    )
    print(text)
    results = ROOT / "bench" / "results"
    (results / f"{stamp}-transformer-{args.threads}t.md").write_text(text)
    write_json(results / f"{stamp}-transformer-{args.threads}t.json", runs)


if __name__ == "__main__":
    main(sys.argv[1:])
