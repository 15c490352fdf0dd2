"""Write configs/bumps.npz: a user's own sequence file, x of shape (N, C, L) = (1500, 3, 40), y of 3 labels.

Three noisy channels (think of an accelerometer's x, y, z); one of them carries a bump (a raised
cosine 7 steps wide, height 1.5) at a random step: the label is which channel. The file ships in
configs/ (float16, 360 KB); this script is how it was made.
"""

from pathlib import Path

import numpy as np

N, C, L, WIDTH = 1500, 3, 40, 7
rng = np.random.default_rng(2026)
y = rng.integers(0, C, size=N)
x = rng.normal(0.0, 1.0, size=(N, C, L))
bump = 1.5 * 0.5 * (1.0 - np.cos(2.0 * np.pi * np.arange(1, WIDTH + 1) / (WIDTH + 1)))  # (WIDTH,)
start = rng.integers(0, L - WIDTH, size=N)
for i in range(N):
    x[i, y[i], start[i] : start[i] + WIDTH] += bump
path = Path(__file__).with_name("bumps.npz")
np.savez(path, x=x.astype(np.float16), y=y)
print(f"{path}: x {x.shape} float16, y {y.shape} in 0..{C - 1}")
