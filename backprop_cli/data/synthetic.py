"""Small 2-D problems generated from the seed: xor, spirals, moons, circles, blobs, and sine (regression).

Each generator takes (n_samples, noise, classes, rng) and returns x float64 (N, 2) (sine: (N, 1))
and y: int64 labels, classes as equal in size as N allows (sine: float64 (N, 1)).
"""

from __future__ import annotations

import numpy as np


def class_sizes(n: int, k: int) -> np.ndarray:
    """n split into k sizes that differ by at most one."""
    return np.array([n // k + (c < n % k) for c in range(k)])


def labels_for(n: int, k: int) -> np.ndarray:
    return np.repeat(np.arange(k, dtype=np.int64), class_sizes(n, k))


def xor(n: int, noise: float, classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Four clusters at the corners of [-1, 1]^2; label 1 where the signs of x0 and x1 differ."""
    y = labels_for(n, 2)
    quadrant = rng.integers(0, 2, size=n)  # which of the two corners of its class a point sits at
    sign0 = np.where(quadrant == 0, 1.0, -1.0)
    sign1 = np.where(y == 0, sign0, -sign0)
    x = np.stack([sign0, sign1], axis=1) * 0.5 + rng.normal(0.0, noise, size=(n, 2))
    return x, y


def spirals(n: int, noise: float, classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`classes` interleaved arms, radius 0..1, each turning 4 radians (the CS231n toy problem)."""
    y = labels_for(n, classes)
    x = np.empty((n, 2))
    for c, idx in enumerate(np.split(np.arange(n), np.cumsum(class_sizes(n, classes))[:-1])):
        r = np.linspace(0.0, 1.0, len(idx))
        t = np.linspace(c * 4.0, (c + 1) * 4.0, len(idx)) + rng.normal(0.0, noise, size=len(idx))
        x[idx] = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
    return x, y


def moons(n: int, noise: float, classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles."""
    y = labels_for(n, 2)
    t = rng.uniform(0.0, np.pi, size=n)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    x = np.where((y == 0)[:, None], upper, lower) + rng.normal(0.0, noise, size=(n, 2))
    return x, y


def circles(n: int, noise: float, classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A circle of radius 1 (class 0) around one of radius 0.5 (class 1)."""
    y = labels_for(n, 2)
    t = rng.uniform(0.0, 2 * np.pi, size=n)
    radius = np.where(y == 0, 1.0, 0.5)[:, None]
    x = radius * np.stack([np.cos(t), np.sin(t)], axis=1) + rng.normal(0.0, noise, size=(n, 2))
    return x, y


def blobs(n: int, noise: float, classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters of std `noise` around centers drawn in [-5, 5]^2."""
    y = labels_for(n, classes)
    centers = rng.uniform(-5.0, 5.0, size=(classes, 2))
    return centers[y] + rng.normal(0.0, noise, size=(n, 2)), y


def sine(n: int, noise: float, classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """y = sin(x) + noise, x uniform in [-pi, pi]: a regression target of shape (N, 1)."""
    x = rng.uniform(-np.pi, np.pi, size=(n, 1))
    return x, np.sin(x) + rng.normal(0.0, noise, size=(n, 1))


# --- sequence tasks: x float64 (N, C, L), generated from the seed --------------------------------------


def adding(n: int, noise: float, classes: int, rng: np.random.Generator, length: int) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015): channel 0 holds L values drawn
    from U(0, 1), channel 1 marks two of them with 1s, one in each half; the target (N, 1) is their sum.
    Predicting the mean 1.0 scores MSE = Var(u1 + u2) = 1/6 ≈ 0.167: a model must carry the first
    marked value across up to L steps to beat that."""
    values = rng.uniform(0.0, 1.0, size=(n, length))
    half = max(length // 2, 1)
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n) if length > 1 else first
    markers = np.zeros((n, length))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = values[rows, first] + np.where(second != first, values[rows, second], 0.0)
    return np.stack([values, markers], axis=1), y[:, None]


def frequencies(
    n: int, noise: float, classes: int, rng: np.random.Generator, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Which of K frequencies a noisy sine carries: class k is sin(2π f_k t + φ) + noise·N(0, 1), t = 0..L-1,
    f_k = (k + 1) / (4K) cycles per step (below the Nyquist limit of 1/2), phase φ uniform; x: (N, 1, L).
    Neighbouring frequencies differ by 1/(4K) cycles per step, so telling them apart takes L ≳ 4K steps."""
    y = labels_for(n, classes)
    f = (y + 1.0) / (4.0 * classes)  # (N,) cycles per step
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(n, 1))
    t = np.arange(length)
    x = np.sin(2.0 * np.pi * f[:, None] * t + phase) + rng.normal(0.0, noise, size=(n, length))
    return x[:, None, :], y
