"""Sequence workloads against PyTorch CPU: an LSTM, a GRU and a conv1d network, the same network on each side.

    python -m bench.recurrent                 # 3 interleaved repeats of every workload, 2 threads each
    python -m bench.recurrent --threads 1     # both sides on one thread (a busy host: see bench/README.md)
    python -m bench.recurrent --repeats 1 --epochs 2 --only lstm

Like `python -m bench`: every measurement in a fresh process with 2 threads (--threads; the same
environment for both), repeats interleaved, the median of epochs 2..E; backprop runs as a user runs it (`backprop
train`, monitor and per-epoch checkpoint included), PyTorch as a plain loop over tensors in memory.
The table goes to stdout and to bench/results/<stamp>-recurrent.md, raw figures to the .json beside it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.common import THREADS, cpu_name, later_epochs_median, write_json
from bench.run import RESULTS, measure, train_argv

N_SEQUENCES = 6400  # 100 batches of 64 per epoch
WORKLOADS = {
    "lstm": {"title": "LSTM 64 units, adding problem, length 50, batch 64, Adam", "cell": "lstm", "epochs": 4},
    "gru": {"title": "GRU 64 units, adding problem, length 50, batch 64, Adam", "cell": "gru", "epochs": 4},
    "conv1d": {
        "title": "conv1d 32-64 (k 7, 5) + pools + global avg, frequencies length 128, batch 64, Adam",
        "cell": None,
        "epochs": 4,
    },
}
CONV_LAYERS = """\
    - {type: conv1d, filters: 32, kernel_size: 7, padding: same, activation: relu}
    - {type: maxpool1d, pool_size: 2}
    - {type: conv1d, filters: 64, kernel_size: 5, padding: same, activation: relu}
    - {type: maxpool1d, pool_size: 2}
    - {type: global_avgpool}
    - {type: dense, units: 4}"""


def config(key: str, epochs: int, threads: int = THREADS) -> str:
    """The workload as a backprop config."""
    cell = WORKLOADS[key]["cell"]
    if cell:
        data = f"{{dataset: adding, length: 50, n_samples: {N_SEQUENCES}, validation_split: 0.0, scale: none"
        data += ", scale_target: false}"
        layers, loss = f"    - {{type: {cell}, units: 64}}\n    - {{type: dense, units: 1}}", "mse"
    else:
        data = (
            f"{{dataset: frequencies, length: 128, n_samples: {2 * N_SEQUENCES}, validation_split: 0.0, scale: none}}"
        )
        layers, loss = CONV_LAYERS, "cross_entropy"
    return f"""\
name: bench-{key}
seed: 0
data: {data}
model:
  layers:
{layers}
loss: {loss}
optimizer: {{type: adam, lr: 0.001}}
schedule: {{type: constant}}
training: {{epochs: {epochs}, batch_size: 64, threads: {threads}}}
"""


def ours(key: str, epochs: int, scratch: Path, threads: int) -> dict:
    argv = train_argv(scratch, "config.yaml", config(key, epochs, threads))
    argv[argv.index("--threads") + 1] = str(threads)
    result = measure(argv, scratch, threads=threads)
    summary = json.loads(result.pop("stdout"))
    lines = (Path(summary["run_dir"]) / "metrics.jsonl").read_text().splitlines()
    result["epoch_times"] = [json.loads(line)["epoch_time_s"] for line in lines]
    result["final_train_loss"] = json.loads(lines[-1])["train_loss"]
    return result


def peer(key: str, epochs: int, scratch: Path, threads: int) -> dict:
    out = scratch / "result.json"
    argv = [sys.executable, "-m", "bench.recurrent", "--worker", key, "--epochs", str(epochs), "--out", str(out)]
    result = measure([*argv, "--threads", str(threads)], scratch, threads=threads)
    result.pop("stdout")
    return {**result, **json.loads(out.read_text())}


def torch_worker(key: str, epochs: int, threads: int) -> dict:
    """The same network in PyTorch, on data from the same generators, on `threads` threads."""
    import numpy as np
    import torch
    from torch import nn

    from backprop_cli.data.synthetic import adding, frequencies

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cell = WORKLOADS[key]["cell"]
    rng = np.random.default_rng(0)
    if cell:
        x, y = adding(N_SEQUENCES, 0.0, 2, rng, 50)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell](2, 64, batch_first=True)
        head = nn.Linear(64, 1)
        params = [*rnn.parameters(), *head.parameters()]

        def model(xb):
            out, _ = rnn(xb.transpose(1, 2))  # (N, C, L) -> (N, L, C)
            return head(out[:, -1])

        loss_fn, y = nn.MSELoss(), torch.from_numpy(y.astype(np.float32))
    else:
        x, y = frequencies(2 * N_SEQUENCES, 0.5, 4, rng, 128)
        net = nn.Sequential(
            nn.Conv1d(1, 32, 7, padding=3), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2),
            nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(64, 4),
        )  # fmt: skip
        params, model, loss_fn, y = list(net.parameters()), net, nn.CrossEntropyLoss(), torch.from_numpy(y)
    x = torch.from_numpy(x.astype(np.float32))
    opt = torch.optim.Adam(params, lr=1e-3)
    times, loss_sum = [], torch.zeros(())
    for _ in range(epochs):
        started, loss_sum = time.perf_counter(), torch.zeros(())
        for idx in torch.randperm(len(x)).split(64):
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * len(idx)
        times.append(time.perf_counter() - started)
    return {"epoch_times": times, "final_train_loss": float(loss_sum) / len(x), "torch": torch.__version__}


def table(raw: list[dict], meta: dict) -> str:
    lines = [
        f"Sequence workloads, {meta['date']}, {meta['cpu']}, {meta['threads']} threads each, "
        f"{meta['repeats']} interleaved repeats, median of epochs 2..E",
        "",
        "| workload | implementation | epoch s, median [min–max] | × PyTorch | peak RSS MB | final train loss |",
        "|---|---|---|---|---|---|",
    ]
    for key in WORKLOADS:
        runs = {impl: [r for r in raw if r["workload"] == key and r["impl"] == impl] for impl in ("backprop", "torch")}
        if not all(runs.values()):
            continue
        epoch = {impl: [later_epochs_median(r["epoch_times"]) for r in rs] for impl, rs in runs.items()}
        peer_s = statistics.median(epoch["torch"])
        for impl, rs in runs.items():
            med = statistics.median(epoch[impl])
            lines.append(
                f"| {WORKLOADS[key]['title']} | {impl} | {med:.2f} [{min(epoch[impl]):.2f}–{max(epoch[impl]):.2f}] | "
                f"{med / peer_s:.2f} | {statistics.median(r['rss_mb'] for r in rs):.0f} | "
                f"{statistics.median(r['final_train_loss'] for r in rs):.4f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.recurrent", description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=None, help="epochs per run (default: each workload's)")
    parser.add_argument("--only", nargs="*", choices=list(WORKLOADS), help="workloads to run")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads of every process (default 2)")
    parser.add_argument("--worker", choices=list(WORKLOADS), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        write_json(args.out, torch_worker(args.worker, args.epochs, args.threads))
        return
    keys = args.only or list(WORKLOADS)
    jobs = [(key, impl) for key in keys for impl in ("backprop", "torch")]
    raw: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="backprop-bench-seq-") as tmp:
        for r in range(args.repeats):
            shift = r % len(jobs)  # each repeat starts elsewhere
            for i, (key, impl) in enumerate(jobs[shift:] + jobs[:shift]):
                scratch = Path(tmp) / f"r{r}-{i}"
                scratch.mkdir()
                epochs = args.epochs or WORKLOADS[key]["epochs"]
                result = (ours if impl == "backprop" else peer)(key, epochs, scratch, args.threads)
                raw.append({"workload": key, "impl": impl, "repeat": r, **result})
                print(f"[{r + 1}/{args.repeats}] {key:7} {impl:9} wall {result['wall_s']:6.1f}s", file=sys.stderr)
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu_name(),
        "threads": args.threads,
        "repeats": args.repeats,
    }
    text = table(raw, meta)
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-recurrent-{args.threads}t"
    RESULTS.mkdir(exist_ok=True)
    write_json(RESULTS / f"{stamp}.json", {"meta": meta, "raw": raw})
    (RESULTS / f"{stamp}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
