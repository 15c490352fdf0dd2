"""The benchmark's harness: every measurement in a fresh process, repeats interleaved, medians reported.

    python -m bench            # the full run (about an hour on 2 busy cores)
    python -m bench --quick    # fewer epochs and repeats, for iterating on a lever
    python -m bench --scaling  # how epoch time and memory grow with batch, width, length, image size
    python bench/run.py --only mlp-adam --repeats 3

The table goes to stdout and to bench/results/<stamp>.md, every raw figure to bench/results/<stamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cnn, sequences  # noqa: E402
from bench.common import ROOT, THREADS, child_env, cpu_name, load_digits_csv, write_json  # noqa: E402
from bench.ours import digits_config, mlp_config  # noqa: E402
from bench.report import aggregate, markdown  # noqa: E402
from bench.workloads import MLP_WORKLOADS  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def backprop_argv() -> list[str]:
    """The installed `backprop` command next to this Python (what a user runs), else `python -m backprop_cli`."""
    script = Path(sys.executable).parent / "backprop"
    return [str(script)] if script.exists() else [sys.executable, "-m", "backprop_cli"]


def measure(
    argv: list[str], scratch: Path, stdin: Path | None = None, threads: int = THREADS, env: dict | None = None
) -> dict:
    """Run argv to completion; its wall time, its peak RSS (from wait4) and its output."""
    out, err = scratch / "stdout.txt", scratch / "stderr.txt"
    with open(out, "wb") as fo, open(err, "wb") as fe, open(stdin or os.devnull, "rb") as fi:
        started = time.perf_counter()
        env = {**child_env(threads), **(env or {})}
        proc = subprocess.Popen(argv, stdin=fi, stdout=fo, stderr=fe, env=env, cwd=scratch)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    result = {"wall_s": wall, "rss_mb": usage.ru_maxrss / 1024, "rc": proc.returncode}
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{err.read_text()[-3000:]}")
    result["stdout"] = out.read_text()
    return result


@dataclass
class Job:
    workload: str
    impl: str
    run: Callable[[Path], dict]
    once: bool = False  # in the first repeat only (a long run whose figure is not a timing)


def train_argv(scratch: Path, name: str, config_text: str) -> list[str]:
    """`backprop train` on a config written into the scratch folder, with a run directory there."""
    config = scratch / name
    config.write_text(config_text)
    runs = str(scratch / "runs")
    return [*backprop_argv(), "train", str(config), "--runs-dir", runs, "--threads", str(THREADS), "--json"]


def cli_job(key: str, epochs: int, subset: tuple[Path, int] | None = None) -> Job:
    """`backprop train` on an MLP workload, the CNN (on the first rows of MNIST when given a subset) or a
    character model."""

    def run(scratch: Path) -> dict:
        if key in sequences.WORKLOADS:
            text = sequences.config(key, epochs, THREADS)
        elif key == cnn.KEY:
            text = cnn.config(epochs, THREADS, subset=str(subset[0]) if subset else None)
        else:
            text = mlp_config(MLP_WORKLOADS[key], epochs, THREADS)
        result = measure(train_argv(scratch, "config.yaml", text), scratch)
        summary = json.loads(result.pop("stdout"))
        records = [json.loads(line) for line in (Path(summary["run_dir"]) / "metrics.jsonl").read_text().splitlines()]
        result["epoch_times"] = [r["epoch_time_s"] for r in records]
        if subset:
            result["epoch_times"], result["rows"] = cnn.scale_epochs(result["epoch_times"], subset[1]), subset[1]
        if summary.get("test"):
            result["test_accuracy"] = summary["test"]["accuracy"]
        result["val_loss"] = records[-1].get("val_loss")
        result["threads_in_summary"] = summary.get("threads")
        return result

    return Job(key, "backprop-cli", run)


def worker_job(key: str, impl: str, epochs: int, env: dict | None = None) -> Job:
    def run(scratch: Path) -> dict:
        out = scratch / "result.json"
        argv = [sys.executable, "-m", "bench.worker", impl, key, str(epochs), str(out)]
        result = measure(argv, scratch, env=env)
        result.pop("stdout")
        return {**result, **json.loads(out.read_text())}

    return Job(key, impl, run)


def cnn_config_job() -> Job:
    """configs/mnist-cnn.yaml as shipped (5 epochs, validation split, cosine): its test accuracy."""

    def run(scratch: Path) -> dict:
        text = (ROOT / "configs" / "mnist-cnn.yaml").read_text()
        result = measure(train_argv(scratch, "mnist-cnn.yaml", text), scratch)
        summary = json.loads(result.pop("stdout"))
        return {**result, "test_accuracy": summary["test"]["accuracy"], "epochs": summary.get("epochs_run")}

    return Job("cnn-config", "backprop-cli", run, once=True)


def compile_jobs() -> list[Job]:
    """Cold (an empty numba cache) then warm (that cache) kernel compiles, each in a fresh process."""

    def run(scratch: Path) -> dict:
        out, cache = scratch / "result.json", scratch / "numba-cache"
        env = {**child_env(), "NUMBA_CACHE_DIR": str(cache)}
        times = {}
        for phase in ("cold", "warm"):
            argv = [sys.executable, "-m", "bench.worker", "compile", "-", "0", str(out)]
            subprocess.run(argv, env=env, cwd=scratch, check=True, capture_output=True)
            times[phase] = json.loads(out.read_text())
        return {
            "wall_s": times["cold"]["compile_s"],
            "rss_mb": 0.0,
            "cold_s": times["cold"]["compile_s"],
            "warm_s": times["warm"]["compile_s"],
            "kernels": times["warm"]["kernels"],
        }

    return [Job("compile", "kernels", run)]


def digits_cli_job() -> Job:
    def run(scratch: Path) -> dict:
        result = measure(train_argv(scratch, "digits.yaml", digits_config(THREADS)), scratch)
        summary = json.loads(result.pop("stdout"))
        return {**result, "train_accuracy": summary["final"]["train_accuracy"]}

    return Job("digits", "backprop-cli", run)


def pipeline_jobs(run_dir: Path, inputs: dict[str, Path]) -> list[Job]:
    def version(scratch: Path) -> dict:
        result = measure([*backprop_argv(), "--version"], scratch)
        return {**result, "stdout": result["stdout"].strip()}

    def predict(name: str) -> Callable[[Path], dict]:
        def run(scratch: Path) -> dict:
            result = measure([*backprop_argv(), "predict", str(run_dir), "-"], scratch, stdin=inputs[name])
            return {**result, "stdout": f"{len(result['stdout'].splitlines())} lines"}

        return run

    return [
        Job("pipelines", "version", version),
        Job("pipelines", "predict-10", predict("predict-10")),
        Job("pipelines", "predict-10000", predict("predict-10000")),
    ]


def prepare_pipelines(scratch: Path) -> tuple[Path, dict[str, Path]]:
    """A trained digits run to predict with, and CSV inputs of 10 and 10,000 rows (not measured)."""
    config = scratch / "digits.yaml"
    config.write_text(digits_config(THREADS))
    argv = [*backprop_argv(), "train", str(config), "--runs-dir", str(scratch / "runs"), "--quiet", "--json"]
    run_dir = Path(json.loads(measure(argv, scratch)["stdout"])["run_dir"])
    x, _ = load_digits_csv()
    header = ",".join(f"p{i}" for i in range(x.shape[1]))
    inputs = {}
    for n in (10, 10_000):
        rows = [",".join(str(int(v)) for v in x[i % len(x)]) for i in range(n)]
        inputs[f"predict-{n}"] = path = scratch / f"rows-{n}.csv"
        path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return run_dir, inputs


def plan(args, run_dir: Path, inputs: dict[str, Path], scratch_root: Path) -> list[Job]:
    jobs: list[Job] = []
    for key, w in MLP_WORKLOADS.items():
        if args.only and key not in args.only:
            continue
        epochs = args.epochs or w.epochs_for(args.quick)
        for impl in w.impls:
            if args.impls and impl not in args.impls:
                continue
            jobs.append(cli_job(key, epochs) if impl == "backprop-cli" else worker_job(key, impl, epochs))
    if not args.only or cnn.KEY in args.only:
        epochs = args.epochs or (cnn.QUICK_EPOCHS if args.quick else cnn.EPOCHS)
        subset, env = None, None
        if args.cnn_rows < 60_000:
            subset = (scratch_root / "mnist-subset.npz", args.cnn_rows)
            cnn.write_subset(subset[0], args.cnn_rows)
            env = {"BENCH_CNN_SUBSET": str(subset[0])}
        jobs += [cli_job(cnn.KEY, epochs, subset), worker_job(cnn.KEY, "torch-cnn", epochs, env)]
        jobs.append(worker_job(cnn.KEY, "gemm-cnn", 0))
        jobs[-1].workload = "cnn-gemm"
    for key in sequences.WORKLOADS:
        if not args.only or key in args.only:
            epochs = args.epochs or (sequences.QUICK_EPOCHS if args.quick else sequences.EPOCHS)
            jobs += [cli_job(key, epochs), worker_job(key, "torch-seq", epochs)]
    if args.only and "cnn-config" in args.only:  # minutes of training: only when asked for
        jobs.append(cnn_config_job())
    if not args.only or "compile" in args.only:
        jobs += compile_jobs()
    if not args.only or "gemm" in args.only:
        jobs.append(worker_job("mlp-adam", "gemm", 0))
        jobs[-1].workload = "gemm"
    if not args.only or "digits" in args.only:
        jobs += [digits_cli_job(), worker_job("mlp-adam", "sklearn-digits", 0)]
        jobs[-1].workload = "digits"
    if not args.only or "pipelines" in args.only:
        jobs += pipeline_jobs(run_dir, inputs)
    return jobs


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if "--scaling" in argv:  # how cost grows with size: its own options (bench/scaling.py)
        from bench import scaling

        scaling.main([a for a in argv if a != "--scaling"])
        return
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 epochs per MLP run, 2 repeats")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repeats (default 5, quick 2)")
    parser.add_argument(
        "--only",
        nargs="*",
        help="workloads: mlp-adam mlp-sgd mlp-adam-b32 gemm digits pipelines cnn cnn-config compile "
        "lstm-char gru-char transformer",
    )
    parser.add_argument("--impls", nargs="*", help="of the MLP workloads, run only these implementations")
    parser.add_argument("--epochs", type=int, default=None, help="epochs of every MLP run (smoke tests)")
    parser.add_argument(
        "--cnn-rows",
        type=int,
        default=60_000,
        help="train the CNN workload on the first N MNIST rows, epoch times scaled to 60000 (a crowded host)",
    )
    parser.add_argument("--tag", default="", help="appended to the result files' names")
    parser.add_argument("--report", type=Path, help="re-render the table of a results JSON; measure nothing")
    args = parser.parse_args(argv)
    if args.report:
        saved = json.loads(args.report.read_text())
        table = markdown(aggregate(saved["raw"]), saved["meta"])
        args.report.with_suffix(".md").write_text(table)
        print(table)
        return
    repeats = args.repeats or (2 if args.quick else 5)
    load_start = os.getloadavg()
    raw: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="backprop-bench-") as tmp:
        scratch_root = Path(tmp)
        run_dir, inputs = prepare_pipelines(scratch_root)
        jobs = plan(args, run_dir, inputs, scratch_root)
        for r in range(repeats):
            shift = r % len(jobs)  # each repeat starts elsewhere, so no job always runs after the same one
            for i, job in enumerate(jobs[shift:] + jobs[:shift]):
                if job.once and r > 0:
                    continue
                scratch = scratch_root / f"r{r}-{i}"
                scratch.mkdir()
                result = {"workload": job.workload, "impl": job.impl, "repeat": r, **job.run(scratch)}
                raw.append(result)
                print(
                    f"[{r + 1}/{repeats}] {job.workload:14} {job.impl:16} wall {result['wall_s']:7.2f}s  "
                    f"rss {result['rss_mb']:6.0f} MB",
                    file=sys.stderr,
                    flush=True,
                )
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "load": os.getloadavg(),  # the host's 1/5/15-minute load at the end of the run
        "load_start": load_start,
        "cpu": cpu_name(),
        "threads": THREADS,
        "repeats": repeats,
        "quick": args.quick,
        "python": sys.version.split()[0],
        "cnn_rows": args.cnn_rows,
    }
    summary = aggregate(raw)
    table = markdown(summary, meta)
    stamp = time.strftime("%Y%m%d-%H%M%S") + ("-quick" if args.quick else "") + (f"-{args.tag}" if args.tag else "")
    RESULTS.mkdir(exist_ok=True)
    write_json(RESULTS / f"{stamp}.json", {"meta": meta, "summary": summary, "raw": raw})
    (RESULTS / f"{stamp}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
