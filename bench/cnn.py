"""Workload 7 (issue 14): a LeNet-style CNN on MNIST, backprop against PyTorch and against its FLOP bound.

conv 5x5x32 pad 2 -> relu -> maxpool 2 -> conv 5x5x64 pad 2 -> relu -> maxpool 2 -> dense 128 relu
-> dense 10; Adam lr 1e-3 (PyTorch's default betas and eps), batch 128, float32, 2 threads each.

The bound: every matmul of one step as the im2col formulation has it (forward W @ cols, backward
dz @ cols.T for dW and W.T @ dz for d cols, none for the first layer's input; the dense layers as in
workload 6), timed with `out=` buffers at the whole-batch shapes and at the row-block shapes conv2d
uses; the faster of the two is NumPy's rate at these shapes, and the epoch's FLOPs over it is the
time an epoch would take if it did nothing but these matmuls.
"""

from __future__ import annotations

import statistics
import time

KEY, TITLE = "cnn", "7. MNIST CNN (LeNet-style), Adam lr 1e-3, batch 128"
BATCH, LR, EPOCHS, QUICK_EPOCHS = 128, 1e-3, 3, 2
IMPLS = ("backprop-cli", "torch")
# (filters or units, kernel, padding) of each weighted layer; pools of 2 after each conv
CONVS = ((32, 5, 2), (64, 5, 2))
DENSE = (128, 10)


def config(epochs: int, threads: int, batch: int = BATCH, subset: str | None = None) -> str:
    """The workload as a backprop config: all 60000 rows trained on, the 10000 test rows scored at the end
    (or the rows of `subset`, an .npz written by write_subset)."""
    data = f"{{path: {subset}, " if subset else "{dataset: mnist, "
    convs = "\n".join(
        f"    - {{type: conv2d, filters: {f}, kernel_size: {k}, padding: {p}, activation: relu}}\n"
        "    - {type: maxpool2d, pool_size: 2}"
        for f, k, p in CONVS
    )
    return f"""\
name: bench-{KEY}
seed: 0
data: {data}validation_split: 0.0, scale: none}}
model:
  layers:
{convs}
    - {{type: flatten}}
    - {{type: dense, units: {DENSE[0]}, activation: relu}}
    - {{type: dense, units: {DENSE[1]}}}
loss: cross_entropy
optimizer: {{type: adam, lr: {LR}}}
schedule: {{type: constant}}
training: {{epochs: {epochs}, batch_size: {batch}, threads: {threads}}}
"""


def write_subset(path, rows: int) -> None:
    """The first `rows` MNIST training images (uint8, (N, 1, 28, 28)) and the whole test set, as an .npz that
    `backprop train` (data.path) and run_torch (BENCH_CNN_SUBSET) both read: a shorter epoch on a crowded host."""
    import numpy as np

    from bench.common import _idx, data_dir

    root = data_dir() / "mnist"
    images = {k: _idx(root / f"{k}-images-idx3-ubyte.gz").reshape(-1, 1, 28, 28) for k in ("train", "t10k")}
    labels = {k: _idx(root / f"{k}-labels-idx1-ubyte.gz").astype(np.int64) for k in ("train", "t10k")}
    np.savez(
        path,
        x_train=images["train"][:rows],
        y_train=labels["train"][:rows],
        x_test=images["t10k"],
        y_test=labels["t10k"],
    )


def _data():
    """(x_train, y_train, x_test, y_test) as float32 pixels / 255 (N, 1, 28, 28): MNIST, or BENCH_CNN_SUBSET's rows."""
    import os

    import numpy as np

    from bench.common import load_mnist

    subset = os.environ.get("BENCH_CNN_SUBSET")
    if not subset:
        x_train, y_train, x_test, y_test = load_mnist()
        return x_train.reshape(-1, 1, 28, 28), y_train, x_test.reshape(-1, 1, 28, 28), y_test
    with np.load(subset) as f:
        scale = np.float32(255.0)
        return (
            f["x_train"].astype(np.float32) / scale,
            f["y_train"],
            f["x_test"].astype(np.float32) / scale,
            f["y_test"],
        )


def gemm_shapes(n: int, blocks: bool = False) -> list[tuple[int, int, int]]:
    """(M, K, N) of every matmul of one training step at batch n, in the order the step runs them.

    blocks=True: each conv's matmuls cut into the row blocks conv2d uses (its BLOCK_BYTES)."""
    from backprop_cli.nn.conv.conv2d import BLOCK_BYTES

    forward, backward = [], []
    c, hw = 1, 28
    for i, (f, k, p) in enumerate(CONVS):
        ckk, oh = c * k * k, hw + 2 * p - k + 1
        rows = max(1, min(oh, BLOCK_BYTES // (ckk * oh * n * 4))) if blocks else oh
        for i0 in range(0, oh, rows):
            m = (min(i0 + rows, oh) - i0) * oh * n  # columns of this block: rows * OW * N
            forward.append((f, ckk, m))  # W @ cols
            backward.append((f, m, ckk))  # dW = dz @ cols.T
            if i > 0:
                backward.append((ckk, f, m))  # d cols = W.T @ dz
        c, hw = f, oh // 2
    sizes = [c * hw * hw, *DENSE]
    for a, b in zip(sizes, sizes[1:]):
        forward.append((n, a, b))
        backward += [(a, n, b), (n, b, a)]  # dW = x.T @ dy, dx = dy @ W.T (conv2's pool needs it)
    return forward + backward


def flops_per_step(n: int) -> float:
    return sum(2.0 * m * k * nn for m, k, nn in gemm_shapes(n))


def run_gemm(threads: int, trials: int = 7, clock=time.perf_counter) -> dict:
    """NumPy's float32 rate on one step's matmuls (whole-batch and row-block shapes; the faster counts)."""
    import numpy as np

    rng = np.random.default_rng(0)
    step_flops = flops_per_step(BATCH)
    out = {"step_flops": step_flops, "epoch_flops": step_flops * 60_000 / BATCH, "numpy": np.__version__}
    for name, blocks in (("whole", False), ("blocks", True)):
        ops = []
        for m, k, n in gemm_shapes(BATCH, blocks):
            a, b = rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)
            ops.append((a, b, np.empty((m, n), dtype=np.float32)))
        for a, b, c in ops * 3:  # warm-up: threads started, pages touched
            np.matmul(a, b, out=c)
        per_step = []
        for _ in range(trials):
            started = clock()
            for a, b, c in ops:
                np.matmul(a, b, out=c)
            per_step.append(clock() - started)
        rates = [step_flops / t / 1e9 for t in per_step]
        out[name] = {"gflops_best": max(rates), "gflops": statistics.median(rates)}
    best = max(out["whole"]["gflops_best"], out["blocks"]["gflops_best"])
    out["gflops_best"] = best
    out["gflops_max"] = best
    out["bound_s"] = out["epoch_flops"] / (best * 1e9)
    return out


def torch_net(image: int = 28):
    """The same network in PyTorch (images of `image` x `image` pixels, one channel)."""
    from torch import nn

    layers: list[nn.Module] = []
    c, hw = 1, image
    for f, k, p in CONVS:
        layers += [nn.Conv2d(c, f, k, padding=p), nn.ReLU(), nn.MaxPool2d(2)]
        c, hw = f, (hw + 2 * p - k + 1) // 2
    layers += [nn.Flatten(), nn.Linear(c * hw * hw, DENSE[0]), nn.ReLU(), nn.Linear(*DENSE)]
    return nn.Sequential(*layers)


def run_torch(epochs: int, threads: int) -> dict:
    """The same network in PyTorch, default Adam, a plain loop over tensors in memory (as workload 1)."""
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x_train, y_train, x_test, y_test = (torch.from_numpy(a) for a in _data())
    model = torch_net()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    n, times = len(x_train), []
    for _ in range(epochs):
        started = time.perf_counter()
        loss_sum, correct = torch.zeros(()), torch.zeros((), dtype=torch.int64)
        for idx in torch.randperm(n).split(BATCH):  # the last batch may be short, as in backprop
            xb, yb = x_train[idx], y_train[idx]
            opt.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(idx)
                correct += (out.argmax(1) == yb).sum()
        _ = float(loss_sum) / n, int(correct) / n
        times.append(time.perf_counter() - started)
    with torch.no_grad():
        model.eval()
        accuracy = sum(
            int((model(x_test[i : i + 1000]).argmax(1) == y_test[i : i + 1000]).sum())
            for i in range(0, len(y_test), 1000)
        ) / len(y_test)
    return {
        "epoch_times": scale_epochs(times, n),
        "rows": n,
        "test_accuracy": accuracy,
        "torch": torch.__version__,
        "dtype": "torch.float32",
    }


def scale_epochs(times: list[float], rows: int) -> list[float]:
    """Epoch times of a subset of `rows` scaled to the 60000 rows of an MNIST epoch (the same steps, more of them)."""
    return [t * 60_000 / rows for t in times]
