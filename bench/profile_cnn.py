"""Where one training step of workload 7 (the CNN) goes, each part against its own bound:
`python -m bench.profile_cnn [--threads 1] [--steps 12] [--clock cpu]`.

The step is the library's (model forward, loss, backward, Adam) on a batch of 128 MNIST-shaped
inputs. Each layer's forward and backward is timed, and inside conv2d and max pooling each kernel
(im2col, col2im, bias+relu, relu's backward, the pooling passes); what a conv2d pass spends outside its
kernels is its matmuls (and a bias sum). The bounds: a matmul part's FLOPs at NumPy's best float32
rate on this step's matmuls (bench/cnn.py's run_gemm, measured here first), a kernel's bytes (read +
written once) at the best rate of a large np.copyto. `--clock cpu` (default with one thread) counts
this process's CPU time, which a crowded host disturbs far less than wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict


def _copy_rate(clock) -> float:
    """Bytes per second of a 64 MB np.copyto (read + write), the best of 7."""
    import numpy as np

    a, b = np.ones(1 << 24, np.float32), np.empty(1 << 24, np.float32)
    times = []
    for _ in range(7):
        started = clock()
        np.copyto(b, a)
        times.append(clock() - started)
    return 2 * a.nbytes / min(t for t in times if t > 0)


def _kernel_bytes(name: str, args) -> int:
    """Bytes a kernel call reads and writes once (its arrays' sizes; im2col reads far less than it writes)."""
    arrays = [a for a in args if hasattr(a, "nbytes")]
    if name == "im2col":
        return arrays[1].nbytes + arrays[0].nbytes
    return sum(a.nbytes for a in arrays)


def profile(steps: int, clock) -> tuple[dict, dict, dict]:
    import numpy as np
    import yaml

    from backprop_cli.nn.kernels import conv as conv_kernels
    from backprop_cli.nn.losses import build_loss
    from backprop_cli.nn.model import build_model, describe
    from backprop_cli.optim import fused
    from backprop_cli.optim.registry import build_optimizer
    from bench import cnn

    spent: dict[str, float] = defaultdict(float)
    work: dict[str, float] = defaultdict(float)  # part -> FLOPs or bytes per step (the last step's)
    kinds: dict[str, str] = {}
    specs = yaml.safe_load(cnn.config(1, 1))["model"]["layers"]
    model = build_model(specs, (1, 28, 28), np.random.default_rng(0), "float32")
    loss, opt = build_loss("cross_entropy"), build_optimizer({"type": "adam", "lr": cnn.LR})
    from backprop_cli.train.loop import keep_freed_memory

    keep_freed_memory()  # as `backprop train` does before its first epoch
    conv_kernels.warm_up(np.float32)
    current = [""]  # the layer pass running now, so a kernel's time is charged to it

    def timed(part, fn, kind=None, size=None):
        def run(*args, **kwargs):
            started = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[part] += clock() - started
                if size is not None:
                    work[part] += size(args)
                    kinds[part] = kind

        return run

    kernels = fused._groups.get("conv", {})
    for name, fn in list(kernels.items()):
        kernels[name] = _kernel_in_layer(name, fn, current, timed)
    for i, layer in enumerate(model.layers):
        for kind in ("forward", "backward"):
            part = f"{i} {describe(layer)} {kind}"
            setattr(layer, kind, _layer_pass(part, getattr(layer, kind), current, timed))
    x = np.random.default_rng(1).random((cnn.BATCH, 1, 28, 28), dtype=np.float32)
    y = np.random.default_rng(2).integers(0, 10, cnn.BATCH)
    for step in range(steps + 2):
        if step == 2:  # the first two steps touch fresh buffers: not counted
            spent.clear(), work.clear()
        loss.forward(model.forward(x, training=True), y)
        model.backward(loss.backward())
        timed("optimizer (Adam, fused)", opt.step, "bytes", lambda a: 7 * a[0][0].nbytes)(
            [model.flat_params], [model.flat_grads], cnn.LR
        )
    return {k: v / steps for k, v in spent.items()}, {k: v / steps for k, v in work.items()}, kinds


def _layer_pass(part, fn, current, timed):
    def run(*args, **kwargs):
        outer, current[0] = current[0], part
        try:
            return timed(part, fn)(*args, **kwargs)
        finally:
            current[0] = outer

    return run


def _kernel_in_layer(name, fn, current, timed):
    def run(*args):
        return timed(f"{current[0]} · {name}", fn, "bytes", lambda a: _kernel_bytes(name, a))(*args)

    return run


def table(spent: dict, work: dict, kinds: dict, flops: dict, gflops: float, copy_rate: float) -> str:
    """One row per part; a conv2d pass's kernels below it, then the rest of that pass (its matmuls)."""
    step = sum(v for k, v in spent.items() if " · " not in k)
    lines = [
        f"one step: {1e3 * step:.1f} ms; bounds at {gflops:.0f} GFLOP/s (matmuls) and {copy_rate / 1e9:.0f} GB/s",
        "",
        "| part | ms/step | share | bound ms | × bound |",
        "|---|---|---|---|---|",
    ]
    for part, seconds in spent.items():
        inner = sum(v for k, v in spent.items() if k.startswith(part + " · "))
        if kinds.get(part) == "bytes":
            bound = work[part] / copy_rate
        elif flops.get(part) and not inner:  # a dense pass: all matmul
            bound = flops[part] / (gflops * 1e9)
        else:
            bound = None
        lines.append(_row(part, seconds, step, bound))
        if inner and flops.get(part):
            lines.append(_row(f"{part} · matmuls (the rest)", seconds - inner, step, flops[part] / (gflops * 1e9)))
    return "\n".join(lines)


def _row(part: str, seconds: float, step: float, bound: float | None) -> str:
    b = "–" if bound is None else f"{1e3 * bound:.2f}"
    ratio = "–" if not bound else f"{seconds / bound:.1f}"
    return f"| {part} | {1e3 * seconds:.2f} | {100 * seconds / step:.1f}% | {b} | {ratio} |"


def layer_flops_by_part() -> dict[str, float]:
    """ "i name forward/backward" -> matmul FLOPs of that pass at batch 128 (conv2d and dense only)."""
    import numpy as np
    import yaml

    from backprop_cli.nn.model import build_model, describe
    from bench import cnn
    from bench.profile_epoch import layer_flops

    specs = yaml.safe_load(cnn.config(1, 1))["model"]["layers"]
    model = build_model(specs, (1, 28, 28), np.random.default_rng(0), "float32")
    model.input_grad = False  # the first conv computes no dx, as in training
    shapes, out = [model.input_shape, *model.output_shapes], {}
    for i, layer in enumerate(model.layers):
        fwd, bwd = layer_flops(layer, shapes[i], shapes[i + 1], cnn.BATCH)
        out[f"{i} {describe(layer)} forward"], out[f"{i} {describe(layer)} backward"] = fwd, bwd
    return out


def torch_step(steps: int, threads: int, clock) -> float:
    """Seconds of one PyTorch training step of the same network (default Adam), by the same clock: the median
    of `steps` after two untimed ones."""
    import torch
    from torch import nn

    from bench import cnn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = cnn.torch_net()
    opt, loss_fn = torch.optim.Adam(model.parameters(), lr=cnn.LR), nn.CrossEntropyLoss()
    x, y = torch.rand(cnn.BATCH, 1, 28, 28), torch.randint(0, 10, (cnn.BATCH,))
    times = []
    for _ in range(steps + 2):
        started = clock()
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
        times.append(clock() - started)
    return statistics.median(times[2:])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_cnn")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--clock", choices=("cpu", "wall"), default=None)
    parser.add_argument("--torch", action="store_true", help="also time PyTorch's step (same network, same clock)")
    args = parser.parse_args()
    use_cpu = (args.clock or ("cpu" if args.threads == 1 else "wall")) == "cpu"
    clock = time.process_time if use_cpu else time.perf_counter
    from bench import cnn

    gemm = cnn.run_gemm(args.threads, clock=clock)
    spent, work, kinds = profile(args.steps, clock)
    print(f"threads {args.threads}, clock {'cpu' if use_cpu else 'wall'}, {args.steps} steps, batch {cnn.BATCH}")
    print(table(spent, work, kinds, layer_flops_by_part(), gemm["gflops_best"], _copy_rate(clock)))
    if args.torch:
        ours = sum(v for k, v in spent.items() if " · " not in k)
        theirs = torch_step(args.steps, args.threads, clock)
        print(f"\nPyTorch's step: {1e3 * theirs:.1f} ms; ours {1e3 * ours:.1f} ms: {ours / theirs:.2f}x")


if __name__ == "__main__":
    threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        os.environ[var] = threads  # before NumPy's first import
    main()
