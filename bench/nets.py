"""The benchmark's networks at any size, each written twice: as backprop's `model.layers` and in PyTorch.

`python -m bench.pace` times one training step of each side by side; `python -m bench --scaling` grows
one size at a time (batch, width, sequence length, image size). A network's epoch is a fixed number
of examples: 60,000 images, or 2,812 sequences (the bundled Shakespeare's training windows at context
64) at every length, so that an epoch's time grows as a step's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

IMAGES, SEQUENCES, VOCAB = 60_000, 2_812, 62


@dataclass(frozen=True)
class Net:
    """One network on both sides; inputs are floats of `input_shape`, or token ids of length input_shape[0]."""

    key: str
    title: str
    layers: list[dict]  # backprop's model.layers
    input_shape: tuple[int, ...]  # per example
    batch: int
    lr: float
    torch: Callable[[], object] = field(repr=False)  # () -> torch.nn.Module: (N, ...) -> logits (N, classes[, L])
    classes: int = 10
    tokens: bool = False  # inputs are ids in [0, classes), targets one per step

    @property
    def steps_per_epoch(self) -> float:
        return (SEQUENCES if self.tokens else IMAGES) / self.batch


def mlp(batch: int = 128, width: int = 512) -> Net:
    """MNIST MLP 784-width-width/2-10, ReLU (workload 1 at width 512)."""
    sizes = [784, width, max(width // 2, 1), 10]
    layers = [{"type": "dense", "units": u, "activation": "relu"} for u in sizes[1:-1]]
    layers.append({"type": "dense", "units": 10})

    def torch_net():
        from torch import nn

        mods: list = []
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            mods += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
        return nn.Sequential(*mods)

    return Net("mlp", f"MLP 784-{width}-{sizes[2]}-10, batch {batch}", layers, (784,), batch, 1e-3, torch_net)


def cnn(batch: int = 128, image: int = 28) -> Net:
    """Workload 7's LeNet-style CNN on one-channel images of `image` x `image` pixels."""
    from bench import cnn as workload

    layers = []
    for f, k, p in workload.CONVS:
        layers += [
            {"type": "conv2d", "filters": f, "kernel_size": k, "padding": p, "activation": "relu"},
            {"type": "maxpool2d", "pool_size": 2},
        ]
    layers += [{"type": "flatten"}, {"type": "dense", "units": workload.DENSE[0], "activation": "relu"}]
    layers += [{"type": "dense", "units": workload.DENSE[1]}]
    title = f"CNN conv5x32-pool-conv5x64-pool-dense128, {image}x{image} images, batch {batch}"
    return Net("cnn", title, layers, (1, image, image), batch, 1e-3, lambda: workload.torch_net(image))


def recurrent(cell: str = "lstm", batch: int = 32, length: int = 64, units: int = 128, dim: int = 64) -> Net:
    """A character model: embedding `dim` -> `cell` of `units` over every step -> a per-step dense to the characters."""
    layers = [
        {"type": "embedding", "dim": dim, "vocab_size": VOCAB},
        {"type": cell, "units": units, "return_sequences": True},
        {"type": "dense", "units": VOCAB, "per_step": True},
    ]

    def torch_net():
        from torch import nn

        class CharRNN(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(VOCAB, dim)
                self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell](dim, units, batch_first=True)
                self.out = nn.Linear(units, VOCAB)

            def forward(self, ids):  # (N, L) -> (N, V, L), as ours
                return self.out(self.rnn(self.emb(ids))[0]).transpose(1, 2)

        return CharRNN()

    title = f"char {cell.upper()}: embedding {dim}, {cell} {units}, per-step dense, length {length}, batch {batch}"
    return Net(f"{cell}-char", title, layers, (length,), batch, 3e-3, torch_net, VOCAB, True)


def transformer(batch: int = 32, length: int = 64, dim: int = 64, heads: int = 4, blocks: int = 2) -> Net:
    """configs/shakespeare-transformer.yaml's network: pre-norm blocks of causal attention and a gelu MLP."""
    hidden = 4 * dim
    block = [
        {"type": "residual", "layers": [{"type": "layernorm"}, {"type": "attention", "heads": heads}]},
        {
            "type": "residual",
            "layers": [
                {"type": "layernorm"},
                {"type": "dense", "units": hidden, "activation": "gelu", "per_step": True},
                {"type": "dense", "units": dim, "per_step": True},
            ],
        },
    ]
    layers = [{"type": "embedding", "dim": dim, "vocab_size": VOCAB}, {"type": "positional"}]
    layers += block * blocks + [{"type": "layernorm"}, {"type": "dense", "units": VOCAB, "per_step": True}]
    title = f"char transformer: {blocks} blocks, d {dim}, {heads} heads, length {length}, batch {batch}"
    return Net(
        "transformer", title, layers, (length,), batch, 3e-3,
        lambda: torch_transformer(length, dim, heads, blocks, hidden), VOCAB, True,
    )  # fmt: skip


def torch_transformer(length: int, dim: int, heads: int, blocks: int, hidden: int, vocab: int = VOCAB):
    """The same transformer in PyTorch: nn.Linear/LayerNorm/Embedding and scaled_dot_product_attention."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim, bias=False), nn.Linear(dim, dim)
            self.o, self.up, self.down = nn.Linear(dim, dim), nn.Linear(dim, hidden), nn.Linear(hidden, dim)

        def forward(self, h):  # (N, L, D)
            n, steps, _ = h.shape
            a = self.ln1(h)
            q, k, v = (f(a).view(n, steps, heads, -1).transpose(1, 2) for f in (self.q, self.k, self.v))
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(n, steps, dim)
            h = h + self.o(o)
            return h + self.down(F.gelu(self.up(self.ln2(h)), approximate="tanh"))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab, dim)
            self.pos = nn.Parameter(0.02 * torch.randn(length, dim))
            self.blocks = nn.Sequential(*[Block() for _ in range(blocks)])
            self.ln, self.out = nn.LayerNorm(dim), nn.Linear(dim, vocab)

        def forward(self, ids):  # (N, L) -> logits (N, V, L), as ours
            return self.out(self.ln(self.blocks(self.emb(ids) + self.pos))).transpose(1, 2)

    return Net()


NETS: dict[str, Callable[..., Net]] = {
    "mlp": mlp,
    "cnn": cnn,
    "lstm-char": lambda **size: recurrent("lstm", **size),
    "gru-char": lambda **size: recurrent("gru", **size),
    "transformer": transformer,
}
