"""Where one training step goes, layer by layer, each pass against its FLOP bound:
`python -m bench.profile_step [transformer|lstm-char|gru-char|cnn|mlp] [--threads 1] [--steps 15]`.

The step is bench.pace's (forward, cross-entropy, backward, Adam on one batch of bench/nets.py's
network). Every leaf layer's forward and backward is timed on its own, and each gets the least time
over the steps (neighbours on a shared host only add time); with one thread the clock is this
process's CPU time. A pass's bound is its FLOPs (the layer's own flops(), matmuls and elementwise
work alike) at the best rate NumPy's float32 matmul reaches here on a (2048, 256) @ (256, 256)
product, the best of 25: "× bound" says how far a pass is from doing only arithmetic at that rate.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from types import SimpleNamespace


def gemm_rate(clock, trials: int = 25) -> float:
    """FLOP/s of NumPy's float32 matmul at a transformer MLP's shape, the best of `trials` single calls."""
    import numpy as np

    rng = np.random.default_rng(0)
    big = np.ones((512, 512), dtype=np.float32)
    big @ big  # OpenBLAS's first products in a process run at a third of its rate at K = 256, until a large one
    a, b = rng.standard_normal((2048, 256), dtype=np.float32), rng.standard_normal((256, 256), dtype=np.float32)
    out = np.empty((2048, 256), dtype=np.float32)
    best = float("inf")
    for _ in range(trials):
        started = clock()
        np.matmul(a, b, out=out)
        best = min(best, clock() - started)
    return 2 * 2048 * 256 * 256 / best


def profile(key: str, threads: int, steps: int, clock) -> tuple[dict, dict, float]:
    """({part: least seconds}, {part: FLOPs}, least seconds of a whole step)."""
    import numpy as np

    from backprop_cli.nn.losses import build_loss
    from backprop_cli.nn.model import build_model, describe, walk_layers
    from backprop_cli.optim.registry import build_optimizer
    from backprop_cli.train.loop import warm_up
    from bench.nets import NETS
    from bench.pace import batch

    net = NETS[key]()
    model = build_model(net.layers, net.input_shape, np.random.default_rng(0), "float32")
    loss, opt = build_loss("cross_entropy"), build_optimizer({"type": "adam", "lr": net.lr})
    opt.threads = threads
    warm_up(SimpleNamespace(model=model, optimizer=opt))
    spent: dict[str, float] = {}
    flops: dict[str, float] = {}
    for name, layer in walk_layers(model):
        if layer.children():
            continue
        fwd, bwd = layer.flops(net.batch)
        for kind, work in (("forward", fwd), ("backward", bwd)):
            part = f"{name} {describe(layer)} {kind}"
            flops[part] = work
            setattr(layer, kind, _timed(part, getattr(layer, kind), spent, clock))
    x, y = batch(net)
    best: dict[str, float] = {}
    whole = float("inf")
    for step in range(steps + 2):
        spent.clear()
        started = clock()
        loss.forward(model.forward(x, training=True), y)
        model.backward(loss.backward())
        opt.step([model.flat_params], [model.flat_grads], net.lr)
        if step >= 2:  # the first two touch fresh buffers
            whole = min(whole, clock() - started)
            for part, seconds in spent.items():
                best[part] = min(best.get(part, float("inf")), seconds)
    return best, flops, whole


def _timed(part: str, fn, spent: dict, clock):
    def run(*args, **kwargs):
        started = clock()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[part] = spent.get(part, 0.0) + clock() - started

    return run


def table(best: dict, flops: dict, whole: float, rate: float) -> str:
    lines = [
        f"one step: {1e3 * whole:.1f} ms (the least of the steps); the layers' passes "
        f"{1e3 * sum(best.values()):.1f} ms; bound at {rate / 1e9:.0f} GFLOP/s",
        "",
        "| pass | ms | share | GFLOP | bound ms | × bound |",
        "|---|---|---|---|---|---|",
    ]
    for part, seconds in sorted(best.items(), key=lambda kv: -kv[1]):
        bound = flops[part] / rate
        ratio = f"{seconds / bound:.1f}" if bound > 0 else "–"
        lines.append(
            f"| {part} | {1e3 * seconds:.2f} | {seconds / whole:.0%} | {flops[part] / 1e9:.3f} | "
            f"{1e3 * bound:.2f} | {ratio} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_step", description=__doc__.split("\n")[0])
    parser.add_argument(
        "net", nargs="?", default="transformer", choices=("transformer", "lstm-char", "gru-char", "cnn", "mlp")
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=15)
    args = parser.parse_args()
    clock = time.process_time if args.threads == 1 else time.perf_counter
    rate = gemm_rate(clock)
    best, flops, whole = profile(args.net, args.threads, args.steps, clock)
    clock_name = "CPU" if args.threads == 1 else "wall"
    print(f"{args.net}, {args.threads} thread(s), {clock_name} time, load {os.getloadavg()[0]:.1f}")
    print(table(best, flops, whole, rate))


if __name__ == "__main__":
    threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        os.environ[var] = threads  # before NumPy's first import
    main()
