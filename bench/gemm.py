"""Workload 6, the machine's ceiling: NumPy's float32 matmuls at the shapes of one MLP step.

Every matmul of one training step of workload 1 (N = 128) is timed as one sequence with `out=`
buffers, the way the step runs them; the step's matmul FLOPs over that time is the GFLOP/s, and the
epoch's FLOPs over that rate is the lower bound of an epoch's time: nothing but the matrix products.
"""

from __future__ import annotations

import statistics
import time

from bench.workloads import MLPWorkload


def step_matmuls(sizes: list[int], n: int, rng):
    """(a, b, out) triples of one step: forward x@W, backward x.T@dy (dW) and dy@W.T (dX, not for layer 1)."""
    import numpy as np

    def arr(*shape):
        return rng.standard_normal(shape, dtype=np.float32)

    pairs = list(zip(sizes, sizes[1:]))
    acts = [arr(n, s) for s in sizes]  # x, h1, h2, logits
    weights = [arr(i, o) for i, o in pairs]
    grads = [arr(i, o) for i, o in pairs]
    dys = [arr(n, o) for _, o in pairs]
    dxs = [arr(n, i) for i, _ in pairs]
    ops = [(acts[k], weights[k], acts[k + 1]) for k in range(len(pairs))]  # forward
    for k in reversed(range(len(pairs))):
        ops.append((acts[k].T, dys[k], grads[k]))  # dW = x.T @ dy
        if k > 0:
            ops.append((dys[k], weights[k].T, dxs[k]))  # dX = dy @ W.T
    flops = sum(2.0 * a.shape[0] * a.shape[1] * b.shape[1] for a, b, _ in ops)
    return ops, flops


def run_gemm(w: MLPWorkload, threads: int, steps: int = 300, trials: int = 7) -> dict:
    import numpy as np

    ops, step_flops = step_matmuls(w.layer_sizes(), w.batch, np.random.default_rng(0))
    for a, b, out in ops * 20:  # warm-up: threads started, caches and pages touched
        np.matmul(a, b, out=out)
    per_step = []
    for _ in range(trials):
        started = time.perf_counter()
        for _ in range(steps):
            for a, b, out in ops:
                np.matmul(a, b, out=out)
        per_step.append((time.perf_counter() - started) / steps)
    step_s = statistics.median(per_step)
    gflops = step_flops / step_s / 1e9
    return {
        "gflops": gflops,
        "gflops_min": step_flops / max(per_step) / 1e9,
        "gflops_max": step_flops / min(per_step) / 1e9,
        "step_s": step_s,
        "epoch_flops": w.flops_per_epoch(),
        "bound_s": w.flops_per_epoch() / (gflops * 1e9),
        "numpy": np.__version__,
    }
