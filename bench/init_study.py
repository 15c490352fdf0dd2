"""Default initialisation: ours against PyTorch's on the same recipe, data and batch order, over seeds.

    python -m bench.init_study                          # every task, 5 seeds, every variant
    python -m bench.init_study --task shapes --seeds 3
    python -m bench.init_study --task digits-cnn --task digits-mlp --variants ours torch
    python -m bench.init_study --task frequencies --steps 3000 --variants ours torch   # a longer training

Sequences (frequencies, shapes: two synthetic 1-D tasks) get the recipe of the 1-D benchmark papers: three
conv1d layers (ReLU), global average pooling, a dense layer; Adam at 1e-2, batch 100, 600 steps. Images
(the bundled digits as 8x8 images) get configs/digits-cnn.yaml's CNN and a one-hidden-layer MLP; Adam at
3e-3, batch 64, 400 steps. No early stopping; the final weights are scored on a held-out test set. Both
implementations see the same float32 arrays and, step for step, the same rows (our shuffle generator's
permutations are replayed in PyTorch), so what differs is what each variant sets:

- ours: this tool's defaults (he_normal after ReLU, xavier_uniform for the last layer, zero biases);
- ours+torchW: PyTorch's weight init written into our model (U(±1/√fan_in)), biases zero;
- ours+torchWb: PyTorch's weight and bias init (both U(±1/√fan_in)) written into our model;
- torch: PyTorch with its own defaults;
- torch+oursW: PyTorch started from our default weights (copied), biases zero: if this matches `ours`,
  the two trainers do the same arithmetic and the gap is the initialisation alone.

Writes a Markdown table to stdout and the raw accuracies to bench/results/init-<stamp>.json.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.common import ROOT

RESULTS = ROOT / "bench" / "results"
VARIANTS = ("ours", "ours+torchW", "ours+torchWb", "torch", "torch+oursW")


# ---- data: two synthetic 1-D tasks, generated once per study seed -----------------------------------------
def frequencies_task(rng: np.random.Generator, n: int, length: int = 64, classes: int = 8, noise: float = 1.5):
    """Which of K close frequencies a very noisy sine carries (the built-in `frequencies`, harder)."""
    y = rng.integers(0, classes, n)
    f = (y + 1.0) / (4.0 * classes)
    t = np.arange(length)
    x = np.sin(2 * np.pi * f[:, None] * t + rng.uniform(0, 2 * np.pi, (n, 1))) + rng.normal(0, noise, (n, length))
    return x[:, None, :].astype(np.float32), y


def shapes_task(rng: np.random.Generator, n: int, length: int = 64, noise: float = 1.0):
    """Which waveform (sine, square, triangle, sawtooth) at a random frequency, amplitude and phase, in noise."""
    y = rng.integers(0, 4, n)
    cycles = rng.uniform(2, 6, (n, 1)) * np.arange(length) / length + rng.uniform(0, 1, (n, 1))
    frac = cycles % 1.0
    waves = np.stack(
        [np.sin(2 * np.pi * cycles), np.sign(np.sin(2 * np.pi * cycles)), 4 * np.abs(frac - 0.5) - 1, 2 * frac - 1]
    )
    x = waves[y, np.arange(n)] * rng.uniform(0.5, 1.5, (n, 1)) + rng.normal(0, noise, (n, length))
    return x[:, None, :].astype(np.float32), y


def sequence_data(task):
    def make(n_train: int = 2000, n_test: int = 2000):
        rng = np.random.default_rng(12345)  # the data stay fixed across seeds: the seed varies the training only
        x, y = task(rng, n_train + n_test)
        return x[:n_train], y[:n_train], x[n_train:], y[n_train:]

    return make


def digits_data(n_train: int = 1200):
    """The bundled UCI digits as (1, 8, 8) images in [0, 1]; the last 597 are the test set."""
    from backprop_cli.data.bundled import load_digits

    raw = load_digits(None, 0)
    x, y = (raw.x_train.reshape(-1, 1, 8, 8) / 16.0).astype(np.float32), raw.y_train
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


SEQUENCE_CNN = [
    {"type": "conv1d", "filters": 16, "kernel_size": 7, "padding": "same", "activation": "relu"},
    {"type": "conv1d", "filters": 32, "kernel_size": 5, "padding": "same", "activation": "relu"},
    {"type": "conv1d", "filters": 32, "kernel_size": 3, "padding": "same", "activation": "relu"},
    {"type": "global_avgpool"},
]
IMAGE_CNN = [  # configs/digits-cnn.yaml
    {"type": "conv2d", "filters": 16, "kernel_size": 3, "padding": "same", "activation": "relu"},
    {"type": "maxpool2d", "pool_size": 2},
    {"type": "conv2d", "filters": 32, "kernel_size": 3, "padding": "same", "activation": "relu"},
    {"type": "maxpool2d", "pool_size": 2},
    {"type": "flatten"},
]
IMAGE_MLP = [{"type": "flatten"}, {"type": "dense", "units": 64, "activation": "relu"}]


@dataclass
class Recipe:
    data: Callable  # () -> x, y, x_test, y_test
    body: list[dict]  # the layers before the last dense layer (one unit per class)
    lr: float
    batch: int
    steps: int


TASKS = {
    "frequencies": Recipe(sequence_data(frequencies_task), SEQUENCE_CNN, 1e-2, 100, 600),
    "shapes": Recipe(sequence_data(shapes_task), SEQUENCE_CNN, 1e-2, 100, 600),
    "digits-cnn": Recipe(digits_data, IMAGE_CNN, 3e-3, 64, 400),
    "digits-mlp": Recipe(digits_data, IMAGE_MLP, 3e-3, 64, 400),
}


# ---- ours ---------------------------------------------------------------------------------------------------
def our_parts(data_file: Path, layers: list[dict], seed: int, steps: int, batch: int, lr: float, n_train: int):
    from backprop_cli.config.load import config_from_dict
    from backprop_cli.train.setup import build_parts

    epochs = math.ceil(steps / math.ceil(n_train / batch))
    config = {
        "seed": seed,
        "data": {"path": str(data_file), "validation_split": 0.0, "scale": "none"},
        "model": {"layers": layers},
        "loss": "cross_entropy",
        "optimizer": {"type": "adam", "lr": lr},
        "training": {"epochs": epochs, "batch_size": batch},
        "diagnostics": {"monitor": False},
    }
    return build_parts(config_from_dict(config, source="init_study"))


def torch_like_init(parts, seed: int, biases: bool) -> None:
    """PyTorch's default for Linear and Conv: W and b ~ U(±1/√fan_in) (kaiming_uniform with a = √5)."""
    rng = np.random.default_rng([seed, 7])
    for _, layer in parts.model.named_layers():
        if "W" not in layer.params:
            continue
        W = layer.params["W"]
        fan_in = W.shape[0] if W.ndim == 2 else math.prod(W.shape[1:])  # dense (in, out); conv (out, in, k..)
        bound = 1.0 / math.sqrt(fan_in)
        W[...] = rng.uniform(-bound, bound, W.shape)
        if biases and "b" in layer.params:
            layer.params["b"][...] = rng.uniform(-bound, bound, layer.params["b"].shape)


def train_ours(parts, steps: int) -> float:
    from backprop_cli.train.callbacks import Callback
    from backprop_cli.train.evaluate import score_split
    from backprop_cli.train.loop import fit

    trainer = parts.trainer

    class StopAfter(Callback):
        def on_batch_end(self, t, loss):
            if t.step >= steps:
                t.request_stop("steps done", "completed")

    fit(trainer, StopAfter())
    data = parts.data
    return score_split(parts.model, parts.loss, data.x_test, data.y_test, True)["accuracy"]


def batch_orders(seed: int, n: int, steps: int, batch: int) -> list[np.ndarray]:
    """The row indices of each of our steps: our shuffle generator's permutations, cut into batches."""
    from backprop_cli.train.setup import generators

    _, shuffle = generators(seed)
    orders = []
    while len(orders) < steps:
        perm = shuffle.permutation(n)
        orders += [perm[i : i + batch] for i in range(0, n, batch)]
    return orders[:steps]


# ---- PyTorch --------------------------------------------------------------------------------------------------
def torch_model(layers: list[dict], input_shape: tuple[int, ...], our_model=None):
    """The PyTorch twin of our layer specs (conv1d/conv2d with `same` padding, pools, flatten, dense,
    global average pooling), with PyTorch's default init, or our model's initial weights copied in."""
    import torch
    from torch import nn

    modules, channels, shape = [], input_shape[0], input_shape
    for spec in layers:
        kind = spec["type"]
        if kind in ("conv1d", "conv2d"):
            conv = nn.Conv1d if kind == "conv1d" else nn.Conv2d
            modules.append(conv(channels, spec["filters"], spec["kernel_size"], padding=spec["kernel_size"] // 2))
            channels = spec["filters"]
        elif kind == "maxpool2d":
            modules.append(nn.MaxPool2d(spec.get("pool_size", 2)))
        elif kind == "global_avgpool":
            modules.append(nn.AdaptiveAvgPool1d(1) if len(shape) == 2 else nn.AdaptiveAvgPool2d(1))
            modules.append(nn.Flatten())
        elif kind == "flatten":
            modules.append(nn.Flatten())
        elif kind == "dense":
            modules.append(nn.LazyLinear(spec["units"]))
        if spec.get("activation") == "relu":
            modules.append(nn.ReLU())
    net = nn.Sequential(*modules)
    net(torch.zeros((1, *input_shape)))  # materialise the lazy layers' shapes
    if our_model is not None:  # our initial weights and biases, copied
        with torch.no_grad():
            weighted = [m for m in net if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear))]
            for module, (_, layer) in zip(weighted, _weighted(our_model), strict=True):
                W = layer.params["W"]
                module.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T if W.ndim == 2 else W)))
                module.bias.copy_(torch.from_numpy(layer.params["b"]))
    return net


def _weighted(model):
    return [(name, layer) for name, layer in model.named_layers() if "W" in layer.params]


def train_torch(net, x, y, x_test, y_test, orders, lr: float) -> float:
    import torch

    torch.set_num_threads(1)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    for idx in orders:
        i = torch.from_numpy(idx)
        opt.zero_grad()
        loss_fn(net(xt[i]), yt[i]).backward()
        opt.step()
    with torch.no_grad():
        return float((net(torch.from_numpy(x_test)).argmax(1).numpy() == y_test).mean())


# ---- the study ------------------------------------------------------------------------------------------------
def run_task(task: str, seeds: int, variants, workdir: Path, steps: int | None = None) -> dict:
    import torch

    recipe = TASKS[task]
    steps, batch, lr = steps or recipe.steps, recipe.batch, recipe.lr
    x, y, x_test, y_test = recipe.data()
    data_file = workdir / f"{task}.npz"
    np.savez(data_file, x_train=x, y_train=y, x_test=x_test, y_test=y_test)
    layers = [*recipe.body, {"type": "dense", "units": int(y.max()) + 1}]
    results = {v: [] for v in variants}
    for seed in range(seeds):
        orders = batch_orders(seed, len(x), steps, batch)
        for variant in variants:
            started = time.perf_counter()
            if variant.startswith("ours"):
                parts = our_parts(data_file, layers, seed, steps, batch, lr, len(x))
                if variant != "ours":
                    torch_like_init(parts, seed, biases=variant.endswith("Wb"))
                acc = train_ours(parts, steps)
            else:
                torch.manual_seed(seed)
                ours = (
                    our_parts(data_file, layers, seed, steps, batch, lr, len(x)).model if "oursW" in variant else None
                )
                acc = train_torch(torch_model(layers, x.shape[1:], ours), x, y, x_test, y_test, orders, lr)
            results[variant].append(acc)
            print(f"{task} seed={seed} {variant}: {acc:.4f} ({time.perf_counter() - started:.0f}s)", flush=True)
    return results


def table(title: str, results: dict) -> str:
    seeds = len(next(iter(results.values())))
    head = f"| {title} | " + " | ".join(f"seed {s}" for s in range(seeds)) + " | mean | std |"
    rows = [head, "| --- " * (seeds + 3) + "|"]
    for variant, accs in results.items():
        cells = " | ".join(f"{a:.4f}" for a in accs)
        std = statistics.stdev(accs) if len(accs) > 1 else 0.0
        rows.append(f"| {variant} | {cells} | **{statistics.mean(accs):.4f}** | {std:.4f} |")
    return "\n".join(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), action="append")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, help="training steps (default: the recipe's)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    args = parser.parse_args(argv)
    import tempfile

    stamp = time.strftime("%Y%m%d-%H%M%S")
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    out = {"args": vars(args), "load_at_start": load, "results": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for task in args.task or sorted(TASKS):
            out["results"][task] = run_task(task, args.seeds, args.variants, Path(tmp), args.steps)
            print(table(f"{task}, {args.steps or TASKS[task].steps} steps", out["results"][task]), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"init-{stamp}.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
