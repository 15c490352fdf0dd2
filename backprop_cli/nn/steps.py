"""The sequence shape convention shared by the sequence and attention layers.

A sequence example is (C, L): C features at each of L steps, features first (as images are
(C, H, W)); a batch is (N, C, L). Token ids are (N, L) integers. The per-step layers do their
matmuls on the (N, L, C) view, where one step's features are contiguous rows of a matrix.
"""

from __future__ import annotations

from backprop_cli.errors import ConfigError


def sequence_shape(input_shape: tuple[int, ...], kind: str) -> tuple[int, int]:
    """(C, L) of a sequence input; anything else is the user's mistake, named with the shape it got."""
    if len(input_shape) != 2:
        raise ConfigError(
            f"a {kind} layer needs sequences of shape (features, steps), but its input has shape {tuple(input_shape)}",
            fix="start the model with {type: embedding, dim: D} on text or token ids, or give (N, C, L) data",
        )
    return int(input_shape[0]), int(input_shape[1])


def steps_first(x):
    """(N, C, L) -> the (N, L, C) view: each step's C features as a row."""
    return x.transpose(0, 2, 1)
