"""One training step, backprop against PyTorch, in the same process and back to back:
`python -m bench.pace [--only cnn lstm-char gru-char transformer mlp] [--threads 1] [--clock cpu]`.

A step is forward, cross-entropy, backward and Adam on one batch held in memory (bench/nets.py's
networks at their default sizes). The sides take turns, `--steps` steps at a time, for `--rounds`
rounds; each side's figure is the least time per step over its rounds (neighbours on the host only
ever add time). `--rules` adds a third side: backprop with its kernels off (BACKPROP_NO_NUMBA=1,
the NumPy rules), switched per round in the same process. With one thread the
process's CPU time (`--clock cpu`, the default there) is the steady measure on a shared host, since
neighbours steal wall time but not CPU time; with two threads only wall time says whether the second
core was used. Both sides see the same thread count: OMP/OPENBLAS/MKL_NUM_THREADS are set before
NumPy or PyTorch is imported, and torch.set_num_threads.

`python -m bench.pace --point NET IMPL [--size axis=value ...] --out FILE.json` measures one side of one
network in this process: the step time and the memory the steps add (peak RSS above the RSS before
the first step; the kernel's high-water mark is reset through /proc/self/clear_refs). `--scaling` runs
it in a fresh process per point.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS", "NUMBA_NUM_THREADS")
KEYS = ("cnn", "lstm-char", "gru-char", "transformer", "mlp")


def batch(net, seed: int = 0):
    """(x, y) of one batch: pixels in [0, 1) or token ids (as float32, as the data loader gives them), and labels."""
    import numpy as np

    rng = np.random.default_rng(seed)
    if net.tokens:
        ids = rng.integers(0, net.classes, (net.batch, net.input_shape[0] + 1))
        return ids[:, :-1].astype(np.float32), ids[:, 1:]
    return rng.random((net.batch, *net.input_shape), dtype=np.float32), rng.integers(0, net.classes, net.batch)


def our_step(net, threads: int):
    """backprop's step (the library's model, fused loss and Adam, as the trainer runs them), kernels warmed."""
    import numpy as np

    from backprop_cli.nn.losses import build_loss
    from backprop_cli.nn.model import build_model
    from backprop_cli.optim.registry import build_optimizer
    from backprop_cli.train.loop import warm_up

    model = build_model(net.layers, net.input_shape, np.random.default_rng(0), "float32")
    loss, opt = build_loss("cross_entropy"), build_optimizer({"type": "adam", "lr": net.lr})
    opt.threads = threads
    warm_up(SimpleNamespace(model=model, optimizer=opt))
    x, y = batch(net)

    def step():
        loss.forward(model.forward(x, training=True), y)
        model.backward(loss.backward())
        opt.step([model.flat_params], [model.flat_grads], net.lr)

    return step


def torch_step(net, threads: int):
    """PyTorch's step on the same network: default Adam, cross-entropy on the logits."""
    import torch
    from torch.nn import functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = net.torch()
    opt = torch.optim.Adam(model.parameters(), lr=net.lr)
    x, y = batch(net)
    x = torch.from_numpy(x).long() if net.tokens else torch.from_numpy(x)
    y = torch.from_numpy(y)

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def time_steps(step, steps: int, clock) -> float:
    started = clock()
    for _ in range(steps):
        step()
    return (clock() - started) / steps


def pace(key: str, threads: int, steps: int, rounds: int, clock, rules: bool = False) -> dict:
    """Seconds per step of each side, per round, the sides taking turns (the first steps of each untimed)."""
    from bench.nets import NETS

    net = NETS[key]()
    ours = our_step(net, threads)
    sides = {"backprop": ours, "torch": torch_step(net, threads)}
    if rules:
        sides["rules"] = _kernels_off(ours)
    times: dict[str, list[float]] = {name: [] for name in sides}
    for step in sides.values():
        time_steps(step, 2, clock)  # buffers touched, threads started
    for r in range(rounds):
        order = list(sides) if r % 2 == 0 else list(sides)[::-1]
        for name in order:
            times[name].append(time_steps(sides[name], steps, clock))
    return {"title": net.title, "times": times}


def _kernels_off(step):
    """The same step with BACKPROP_NO_NUMBA=1 while it runs: every layer and the optimizer take their NumPy rules."""

    def run():
        os.environ["BACKPROP_NO_NUMBA"] = "1"
        try:
            step()
        finally:
            del os.environ["BACKPROP_NO_NUMBA"]

    return run


def report(results: dict[str, dict], threads: int, clock_name: str) -> str:
    rules = any("rules" in r["times"] for r in results.values())
    lines = [
        f"threads {threads}, clock {clock_name}, load {' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
        "ms per step, the least over the rounds",
        "",
        "| network | backprop | PyTorch | × PyTorch | rounds (ours / theirs) |" + " kernels off | × PyTorch |" * rules,
        "|---|---|---|---|---|" + "---|---|" * rules,
    ]
    for result in results.values():
        t = result["times"]
        ours, theirs = min(t["backprop"]), min(t["torch"])
        per_round = " ".join(f"{a / b:.2f}" for a, b in zip(t["backprop"], t["torch"]))
        row = f"| {result['title']} | {1e3 * ours:.1f} | {1e3 * theirs:.1f} | {ours / theirs:.2f} | {per_round} |"
        if rules:
            row += f" {1e3 * min(t['rules']):.1f} | {min(t['rules']) / theirs:.2f} |"
        lines.append(row)
    return "\n".join(lines)


def peak_rss_mb() -> float:
    """The process's high-water RSS (VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def point(key: str, impl: str, size: dict, threads: int, steps: int) -> dict:
    """One side of one network at one size: wall and CPU seconds per step, and the MB its steps add."""
    from bench.nets import NETS

    net = NETS[key](**size)
    step = (our_step if impl == "backprop" else torch_step)(net, threads)
    before = peak_rss_mb()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    time_steps(step, 1, time.perf_counter)  # the first step allocates what later steps reuse
    wall = statistics.median(time_steps(step, 1, time.perf_counter) for _ in range(steps))
    cpu = time_steps(step, steps, time.process_time)  # this process's CPU time: all its threads
    return {
        "step_s": wall,
        "cpu_step_s": cpu,
        "epoch_s": wall * net.steps_per_epoch,
        "cpu_epoch_s": cpu * net.steps_per_epoch,
        "steps_per_epoch": net.steps_per_epoch,
        "memory_mb": max(peak_rss_mb() - before, 0.0),
        "title": net.title,
    }


def _sizes(pairs: list[str]) -> dict:
    return {k: int(v) for k, v in (p.split("=", 1) for p in pairs)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pace", description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", choices=KEYS, default=list(KEYS[:4]))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=10, help="steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clock", choices=("cpu", "wall"), default=None, help="default: cpu at 1 thread, else wall")
    parser.add_argument("--rules", action="store_true", help="also time backprop with its kernels off")
    parser.add_argument("--point", nargs=2, metavar=("NET", "IMPL"), help="measure one side (see above)")
    parser.add_argument("--size", nargs="*", default=[], help="axis=value for --point, e.g. batch=256")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.point:
        result = point(args.point[0], args.point[1], _sizes(args.size), args.threads, args.steps)
        args.out.write_text(json.dumps(result))
        return
    clock_name = args.clock or ("cpu" if args.threads == 1 else "wall")
    clock = time.process_time if clock_name == "cpu" else time.perf_counter
    results = {}
    for key in args.only:
        results[key] = pace(key, args.threads, args.steps, args.rounds, clock, args.rules)
        print(f"{key}: done", file=sys.stderr, flush=True)
    print(report(results, args.threads, clock_name))


if __name__ == "__main__":
    threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
    for var in THREAD_VARS:
        os.environ[var] = threads  # before NumPy's first import
    main()
