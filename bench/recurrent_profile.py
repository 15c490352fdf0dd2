"""Where a recurrent layer's time goes: `python -m bench.recurrent_profile [--units 64 --batch 64 --length 50]`.

One training step (forward + backward) of the bench's LSTM and GRU, split by replaying its parts alone:
    per-step matmuls  the L products h·U forward and L products da·Uᵀ backward, at the layer's shapes
    bulk matmuls      x·W for all steps, dW, dU and dx (one product each)
    Python overhead   the same layer at batch 1, units 1, one input channel: every NumPy call, no work
    gates             what is left: the elementwise σ/tanh and products of the gates, and their copies
Medians of 30 repeats on one BLAS thread (how the layer runs, nn/blas.py).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def _median_ms(f, repeats: int = 30) -> float:
    f()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        f()
        times.append(time.perf_counter() - started)
    return 1e3 * statistics.median(times)


def _step(layer, x):
    def run():
        y = layer.forward(x, training=True)
        layer.backward(np.ones_like(y))

    return run


def profile(cell: str, units: int, batch: int, length: int, channels: int = 2) -> dict[str, float]:
    from backprop_cli.nn.registry import LAYERS

    rng = np.random.default_rng(0)
    dtype = np.float32

    def built(h, n, c):
        layer = LAYERS[cell](h)
        layer.build((c, length), rng, dtype)
        return layer, rng.standard_normal((n, c, length)).astype(dtype)

    total = _median_ms(_step(*built(units, batch, channels)))
    overhead = _median_ms(_step(*built(1, 1, 1)))
    g = LAYERS[cell].gates * units
    h, U = np.zeros((batch, units), dtype), rng.standard_normal((units, g)).astype(dtype)
    a, out_g, out_h = np.zeros((batch, g), dtype), np.empty((batch, g), dtype), np.empty((batch, units), dtype)

    def per_step():
        for _ in range(length):
            np.matmul(h, U, out=out_g)  # (N, H) @ (H, G*H)
            np.matmul(a, U.T, out=out_h)  # (N, G*H) @ (G*H, H)

    xs = rng.standard_normal((length * batch, channels)).astype(dtype)
    hs = rng.standard_normal((length * batch, units)).astype(dtype)
    da = rng.standard_normal((length * batch, g)).astype(dtype)
    W = rng.standard_normal((channels, g)).astype(dtype)

    def bulk():
        _ = xs @ W, xs.T @ da, hs.T @ da, da @ W.T

    from backprop_cli.nn.kernels.blas import one_blas_thread

    with one_blas_thread():
        step_mm, bulk_mm = _median_ms(per_step), _median_ms(bulk)
    gates = max(total - step_mm - bulk_mm - overhead, 0.0)
    return {"total": total, "per-step matmuls": step_mm, "bulk matmuls": bulk_mm, "Python overhead": overhead,
            "gates": gates}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.recurrent_profile", description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=50)
    args = parser.parse_args(argv)
    print(f"one training step, {args.units} units, batch {args.batch}, length {args.length}, float32, ms (share)")
    for cell in ("lstm", "gru", "rnn"):
        parts = profile(cell, args.units, args.batch, args.length)
        total = parts.pop("total")
        shares = ", ".join(f"{k} {v:.1f} ({v / total:.0%})" for k, v in parts.items())
        print(f"{cell:4}  total {total:.1f}:  {shares}")


if __name__ == "__main__":
    main()
