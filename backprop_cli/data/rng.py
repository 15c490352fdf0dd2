"""Independent random streams derived from the run's one seed.

Each consumer in data/ gets its own stream, so that changing how many numbers one of them draws
(a larger synthetic dataset, another validation split, cross-validation folds) never shifts the others.
"""

from __future__ import annotations

import numpy as np

STREAMS = {"generate": 1, "split": 2, "folds": 3}


def data_rng(seed: int, purpose: str) -> np.random.Generator:
    """A generator for one purpose ("generate" or "split"), fixed by the seed."""
    return np.random.default_rng([seed, STREAMS[purpose]])


def generators(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """The run's own two streams, independent of the data's: the model's (init, dropout) and shuffling."""
    model_seq, shuffle_seq = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(model_seq), np.random.default_rng(shuffle_seq)


def augment_generator(seed: int) -> np.random.Generator:
    """The seed's third stream, for data augmentation: spawning a third child leaves the first two as they
    were, so a run without augmentation draws exactly what it drew before augmentation existed."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])
