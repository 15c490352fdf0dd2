"""The benchmark's workloads: one network, one data set, one optimizer and one batch size each,
run identically by every implementation listed for it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MLPWorkload:
    """MNIST MLP 784-hidden-10, ReLU, softmax cross-entropy, float32, every implementation on 2 threads."""

    key: str
    title: str
    optimizer: str  # "adam" (lr, PyTorch's default betas and eps) or "momentum" (SGD, momentum 0.9)
    lr: float
    batch: int
    epochs: int
    quick_epochs: int
    impls: tuple[str, ...]
    hidden: tuple[int, ...] = (512, 256)
    momentum: float = 0.9

    def epochs_for(self, quick: bool) -> int:
        return self.quick_epochs if quick else self.epochs

    def layer_sizes(self, n_in: int = 784, n_out: int = 10) -> list[int]:
        return [n_in, *self.hidden, n_out]

    def flops_per_epoch(self, n: int = 60_000) -> float:
        """Matmul FLOPs: forward 2 N sum(in*out); backward twice that, less the first layer's dX."""
        sizes = self.layer_sizes()
        pairs = list(zip(sizes, sizes[1:]))
        forward = 2.0 * n * sum(i * o for i, o in pairs)
        first = 2.0 * n * pairs[0][0] * pairs[0][1]
        return forward + (2.0 * forward - first)


MLP_WORKLOADS = {
    w.key: w
    for w in (
        MLPWorkload(
            "mlp-adam",
            "1. MNIST MLP, Adam lr 1e-3, batch 128",
            "adam",
            1e-3,
            128,
            10,
            3,
            ("backprop-cli", "backprop-lib", "torch", "torch-fused-ftz", "sklearn"),
        ),
        MLPWorkload(
            "mlp-sgd",
            "2. MNIST MLP, SGD momentum 0.9 lr 0.01, batch 128",
            "momentum",
            0.01,
            128,
            5,
            3,
            ("backprop-cli", "torch", "sklearn"),
        ),
        MLPWorkload(
            "mlp-adam-b32", "3. MNIST MLP, Adam lr 1e-3, batch 32", "adam", 1e-3, 32, 4, 3, ("backprop-cli", "torch")
        ),
    )
}

# 4. digits end to end: 64-128-64-10 ReLU, Adam lr 1e-3, batch 64, 30 epochs, all 1797 rows
DIGITS = {"hidden": (128, 64), "lr": 1e-3, "batch": 64, "epochs": 30}

IMPL_LABELS = {
    "backprop-cli": "backprop (`backprop train`)",
    "backprop-lib": "backprop (library API)",
    "torch": "PyTorch, default Adam/SGD",
    "torch-fused-ftz": "PyTorch, fused Adam + flushed subnormals",
    "sklearn": "scikit-learn MLPClassifier",
}
