"""Workloads 8-10: character models on the bundled Shakespeare, backprop against the same network in PyTorch.

8. char LSTM: embedding 64 -> LSTM 128 over every step -> a per-step dense to the 62 characters
9. char GRU: the same with a GRU
10. char transformer: configs/shakespeare-transformer.yaml's network (2 pre-norm blocks, d 64, 4 heads)

Context 64, batch 32, Adam, cross-entropy over every step; the last 10% of the text held out, scored
after every epoch by both sides (its loss is the table's last column). backprop runs as a user runs
it (`backprop train`, monitor and per-epoch checkpoint included), PyTorch as a plain loop over
tensors in memory. The networks are bench/nets.py's, so `python -m bench.pace` times the same steps.
"""

from __future__ import annotations

import time

import yaml

from bench import nets

EPOCHS, QUICK_EPOCHS, CONTEXT = 3, 2, 64
WORKLOADS = {
    "lstm-char": ("8. char LSTM (embedding 64, LSTM 128, per-step dense), Shakespeare, batch 32, Adam", "lstm-char"),
    "gru-char": ("9. char GRU (embedding 64, GRU 128, per-step dense), Shakespeare, batch 32, Adam", "gru-char"),
    "transformer": ("10. char transformer (2 blocks, d 64, 4 heads, context 64), Shakespeare, batch 32", "transformer"),
}  # key -> (title, bench/nets.py's network)
IMPLS = ("backprop-cli", "torch")


def config(key: str, epochs: int, threads: int) -> str:
    """The workload as a backprop config (the embedding's vocab_size comes from the text)."""
    net = nets.NETS[WORKLOADS[key][1]](length=CONTEXT)
    layers = [{k: v for k, v in spec.items() if k != "vocab_size"} for spec in net.layers]
    return yaml.safe_dump(
        {
            "name": f"bench-{key}",
            "seed": 0,
            "data": {"dataset": "shakespeare", "context": CONTEXT, "validation_split": 0.1},
            "model": {"layers": layers},
            "loss": "cross_entropy",
            "optimizer": {"type": "adam", "lr": net.lr},
            "schedule": {"type": "constant"},
            "training": {"epochs": epochs, "batch_size": net.batch, "threads": threads},
        },
        sort_keys=False,
    )


def run_torch(key: str, epochs: int, threads: int) -> dict:
    """The same network in PyTorch on the same windows of the same text, default Adam."""
    import numpy as np
    import torch
    from torch.nn import functional as F

    from backprop_cli.data.bundled import bundled_text
    from backprop_cli.data.text import encode, vocabulary, windows

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    text = bundled_text("shakespeare.txt")
    vocab = vocabulary(text)
    ids = encode(text, vocab, "shakespeare")
    n_val = round(len(ids) * 0.1)
    x, y = (torch.from_numpy(a) for a in windows(ids[:-n_val], CONTEXT, CONTEXT, np.int64))
    xv, yv = (torch.from_numpy(a) for a in windows(ids[-n_val:], CONTEXT, CONTEXT, np.int64))
    net = nets.NETS[WORKLOADS[key][1]](length=CONTEXT)
    model = net.torch()
    opt = torch.optim.Adam(model.parameters(), lr=net.lr)
    times, val, train = [], float("nan"), float("nan")
    for _ in range(epochs):
        started, loss_sum = time.perf_counter(), torch.zeros(())
        for idx in torch.randperm(len(x)).split(net.batch):
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * len(idx)
        with torch.no_grad():  # as backprop's trainer: the held-out loss inside the epoch's time
            val = F.cross_entropy(model(xv), yv).item()
        train = float(loss_sum) / len(x)
        times.append(time.perf_counter() - started)
    params = sum(p.numel() for p in model.parameters())
    return {"epoch_times": times, "train_loss": train, "val_loss": val, "rows": len(x), "params": params}
