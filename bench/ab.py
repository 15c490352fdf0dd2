"""Before/after of one lever, robust to a busy host: `python -m bench.ab --a HEAD~1 --b . [options]`.

Two worker processes hold the same training run (workload 1 by default, library API, same seed),
one per side: a git ref exported to a temporary directory, or `.` for the working tree, each with
its own extra environment (`--env-b OPENBLAS_THREAD_TIMEOUT=1`). The parent lets them take turns
(A B B A ...), one chunk of steps each, so both sides see the same stretch of training and the same
host. During each chunk the worker counts the CPU time that *other* processes used (/proc/stat busy
time less its own); a chunk during which others used more than --dirty of a core is discarded.
The report compares the medians of the clean chunks, and the 10th and 25th percentiles of all
chunks (interference only adds time), in ms per step.
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

from bench.common import ROOT, THREADS, child_env


def export_tree(ref: str, into: Path) -> Path:
    """`.` is the working tree; anything else a git ref whose backprop_cli/ is exported to `into`."""
    if ref == ".":
        return ROOT
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", ref, "backprop_cli"], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def spawn(tree: Path, extra_env: list[str], args) -> subprocess.Popen:
    env = child_env(args.threads)
    env["PYTHONPATH"] = os.pathsep.join([str(tree), str(ROOT)])
    env.update(dict(item.split("=", 1) for item in extra_env))
    argv = [sys.executable, "-m", "bench.ab", "--serve", args.workload, str(args.batch or 0), str(args.threads)]
    return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=ROOT, text=True)


def ask(proc: subprocess.Popen, steps: int) -> dict:
    proc.stdin.write(f"{steps}\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def compare(args) -> None:
    with tempfile.TemporaryDirectory(prefix="backprop-ab-") as tmp:
        a = spawn(export_tree(args.a, Path(tmp) / "a"), args.env_a, args)
        b = spawn(export_tree(args.b, Path(tmp) / "b"), args.env_b, args)
        sides = {"A": a, "B": b}
        for proc in sides.values():
            ask(proc, args.warmup)  # past the first steps: threads started, buffers touched
        chunks: dict[str, list[dict]] = {"A": [], "B": []}
        for i in range(args.chunks):
            for name in ("A", "B") if i % 2 == 0 else ("B", "A"):
                time.sleep(args.gap)  # let the other side's idle BLAS threads stop spinning
                chunks[name].append(ask(sides[name], args.steps))
        for proc in sides.values():
            proc.stdin.close()
            proc.wait()
    report(args, chunks)


def report(args, chunks: dict[str, list[dict]]) -> None:
    """Clean-chunk medians when there are enough; the 10th percentile of all chunks always (interference
    only ever adds time, so the fast tail estimates the undisturbed speed)."""
    rows = {}
    for name, got in chunks.items():
        times = sorted(c["ms_per_step"] for c in got)
        clean = [c["ms_per_step"] for c in got if c["other_cores"] <= args.dirty]
        rows[name] = {
            "chunks": len(got),
            "clean": len(clean),
            "median_clean": statistics.median(clean) if clean else None,
            "p10": times[len(times) // 10],
            "p25": times[len(times) // 4],
            "median_all": times[len(times) // 2],
            # our own CPU time: with --threads 1 a steady measure of the work on a crowded host (with
            # more threads it also counts BLAS threads spinning while they wait for each other)
            "cpu_median": statistics.median(c["cpu_ms_per_step"] for c in got),
        }
    a, b = rows["A"], rows["B"]
    ratios = {k: b[k] / a[k] for k in ("median_clean", "p10", "p25", "median_all", "cpu_median") if a[k] and b[k]}
    print(
        json.dumps(
            {
                "a": args.a,
                "env_a": args.env_a,
                "b": args.b,
                "env_b": args.env_b,
                "A ms/step": a,
                "B ms/step": b,
                "B/A": ratios,
            },
            indent=1,
        )
    )


def serve(workload: str, batch: int, threads: int) -> None:
    """The worker: a trainer that runs N steps per request and reports their time and the host's noise."""
    import yaml

    from backprop_cli.config.load import config_from_dict
    from backprop_cli.train.setup import build_parts
    from bench import cnn
    from bench.ours import mlp_config
    from bench.workloads import MLP_WORKLOADS

    if os.environ.get("BENCH_FLUSH_SUBNORMALS"):
        from backprop_cli.cli.options import subnormals_flushed

        assert subnormals_flushed().__enter__()  # for the rest of this process
    if workload == cnn.KEY:
        text = cnn.config(1000, threads, batch or cnn.BATCH)
    else:
        w = MLP_WORKLOADS[workload]
        text = mlp_config(w, 1000, threads)
        if batch:
            text = text.replace(f"batch_size: {w.batch}", f"batch_size: {batch}")
    parts = build_parts(config_from_dict(yaml.safe_load(text), source="ab"))
    trainer = parts.trainer
    trainer.optimizer.threads = int(os.environ.get("BENCH_OPTIMIZER_THREADS", threads))
    batches = iter(())
    for line in sys.stdin:
        steps = int(line)
        busy0, cpu0, t0 = _host_busy(), time.process_time(), time.perf_counter()
        for _ in range(steps):
            pair = next(batches, None)
            if pair is None:
                if trainer.batch_in_epoch:
                    trainer.end_epoch()
                trainer.begin_epoch()
                batches = trainer.epoch_batches()
                pair = next(batches)
            trainer.train_step(*pair)
        wall, cpu, busy = time.perf_counter() - t0, time.process_time() - cpu0, _host_busy() - busy0
        report = {"ms_per_step": 1e3 * wall / steps, "cpu_ms_per_step": 1e3 * cpu / steps}
        print(json.dumps({**report, "other_cores": max(busy - cpu, 0.0) / wall}), flush=True)


def _host_busy() -> float:
    """Seconds of CPU time all processes have used (user, nice, system, irq), from /proc/stat."""
    fields = open("/proc/stat").readline().split()[1:]
    ticks = sum(int(v) for i, v in enumerate(fields) if i not in (3, 4))  # all but idle and iowait
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.split("\n")[0])
    parser.add_argument("--a", default="HEAD")
    parser.add_argument("--b", default=".")
    parser.add_argument("--env-a", nargs="*", default=[])
    parser.add_argument("--env-b", nargs="*", default=[])
    parser.add_argument("--workload", default="mlp-adam", help="mlp-adam, mlp-sgd, mlp-adam-b32 or cnn")
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--steps", type=int, default=25, help="steps per chunk")
    parser.add_argument("--chunks", type=int, default=150, help="chunks per side")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.12, help="seconds between chunks")
    parser.add_argument("--dirty", type=float, default=0.05, help="others' CPU (cores) that spoils a chunk")
    parser.add_argument("--threads", type=int, default=THREADS, help="BLAS and optimizer threads, both sides")
    compare(parser.parse_args())


if __name__ == "__main__":
    main()
