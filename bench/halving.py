"""`python -m bench.halving [--max-epochs 9]`: successive halving against the full random search of the
same 27 MNIST MLP configurations, on 2 local workers (1 BLAS thread each).

Runs the halving sweep twice on the local pool and once on a local Dask cluster (a scheduler and two
worker processes on 127.0.0.1), and the full search (every configuration to max_epochs, early stopping
as the base config has it) once. Reports each one's best val_accuracy, epochs trained and wall time,
and whether the three halving sweeps ranked alike and kept identical best weights. Writes
bench/results/<stamp>-halving.md and .json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, cpu_name, write_json
from bench.run import RESULTS, backprop_argv, measure

SWEEP = """\
base: {base}
method: random
trials: 27
seed: 0
parameters:
  optimizer.lr: {{log_uniform: [0.0001, 0.1]}}
  model.layers.1.units: {{choice: [64, 128, 256, 512]}}
metric: val_accuracy
{extra}"""
HALVING = "schedule: {{type: successive_halving, min_epochs: 1, max_epochs: {max_epochs}, reduction_factor: 3}}\n"


def weights_digest(checkpoint: Path) -> str:
    """SHA-256 of the model's tensors (names, dtypes, shapes, bytes): the file's own bytes also hold its
    metadata (run id, save time), which differ between two runs with identical weights."""
    from safetensors.numpy import load_file

    digest = hashlib.sha256()
    for name, tensor in sorted(load_file(str(checkpoint)).items()):
        if name.startswith("model."):
            digest.update(f"{name}:{tensor.dtype}:{tensor.shape}".encode())
            digest.update(tensor.tobytes())
    return digest.hexdigest()


def sweep(scratch: Path, name: str, sweep_file: Path, *where: str) -> dict:
    """One `backprop sweep` to its end: its ranked trials, wall time, epochs, and the best trial's weights."""
    runs = scratch / name
    runs.mkdir()
    argv = [*backprop_argv(), "sweep", str(sweep_file), *where, "--runs-dir", str(runs), "--json"]
    result = measure(argv, runs, threads=1)
    trials = json.loads(result["stdout"])["trials"]
    best = Path(trials[0]["run_dir"]) / "checkpoints" / "best.safetensors"
    return {
        "wall_s": result["wall_s"],
        "load_average": os.getloadavg()[0],
        "ranking": [(t["trial"], t.get("rung"), t.get("val_accuracy")) for t in trials],
        "best_trial": trials[0]["trial"],
        "best_val_accuracy": trials[0]["val_accuracy"],
        "best_parameters": trials[0]["parameters"],
        "epochs": sum(t.get("epochs") or 0 for t in trials),
        "best_weights_sha256": weights_digest(best),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.halving", description=__doc__.splitlines()[0])
    parser.add_argument("--max-epochs", type=int, default=9, help="the last rung (and the full search's epochs)")
    args = parser.parse_args(argv)
    from distributed import LocalCluster

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-halving-") as tmp:
        scratch = Path(tmp)
        # the full search's base: the same config with max_epochs (halving sets every trial's epochs so)
        text = (ROOT / "configs" / "mnist-mlp.yaml").read_text()
        base = scratch / "mnist-mlp.yaml"
        base.write_text(text.replace("  epochs: 12\n", f"  epochs: {args.max_epochs}\n"))
        assert base.read_text() != text
        halving, full = scratch / "halving.yaml", scratch / "full.yaml"
        halving.write_text(SWEEP.format(base=base, extra=HALVING.format(max_epochs=args.max_epochs)))
        full.write_text(SWEEP.format(base=base, extra=""))
        for name in ("halving", "halving again"):
            results[name] = sweep(scratch, name.replace(" ", "-"), halving, "--workers", "2")
            print(name, {k: v for k, v in results[name].items() if k != "ranking"}, flush=True)
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster:
            results["halving on dask"] = sweep(scratch, "dask", halving, "--scheduler", cluster.scheduler_address)
        print("halving on dask", {k: v for k, v in results["halving on dask"].items() if k != "ranking"}, flush=True)
        results["full random search"] = sweep(scratch, "full", full, "--workers", "2")
        print("full", {k: v for k, v in results["full random search"].items() if k != "ranking"}, flush=True)
    report(results, args)


def _row(name: str, r: dict) -> str:
    figures = f"{r['best_val_accuracy']:.4f} | {r['best_trial']} | {r['epochs']} | {r['wall_s']:.0f}"
    return f"| {name} | {figures} | {r['load_average']:.1f} |"


def report(results: dict[str, dict], args) -> None:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    h, full = results["halving"], results["full random search"]
    same = all(
        r["ranking"] == h["ranking"] and r["best_weights_sha256"] == h["best_weights_sha256"]
        for r in results.values()
        if r is not full
    )
    lines = [
        f"# Successive halving vs full random search: 27 MNIST MLP configurations, "
        f"max {args.max_epochs} epochs, {stamp}",
        "",
        f"CPU: {cpu_name()}, {os.cpu_count()} logical; 2 workers x 1 BLAS thread; "
        "the load average after each sweep is given.",
        "",
        "| sweep | best val_accuracy | best trial | epochs trained | wall s | load |",
        "|---|---|---|---|---|---|",
        *(_row(name, r) for name, r in results.items()),
        "",
        f"halving / full: {100 * (h['best_val_accuracy'] - full['best_val_accuracy']):+.2f} points of val_accuracy "
        f"with {h['epochs'] / full['epochs']:.2f} of the epochs",
        f"the three halving sweeps: identical rankings and best weights: {'yes' if same else 'NO'}",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stamp}-halving.md").write_text(text)
    write_json(
        RESULTS / f"{stamp}-halving.json", {"max_epochs": args.max_epochs, "results": results, "identical": same}
    )


if __name__ == "__main__":
    main()
