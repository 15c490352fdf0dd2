"""Token embeddings: integer ids -> learned vectors, one row of W per token of the vocabulary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from backprop_cli.errors import ConfigError, DataError
from backprop_cli.nn.base import Layer
from backprop_cli.nn.kernels.embedding import scatter_add
from backprop_cli.nn.kernels.embedding import warm_up as warm_scatter


class Embedding(Layer):
    """y[n, :, t] = W[ids[n, t]];  ids (N, L) -> y (N, dim, L);  dW[v] = sum of dy[n, :, t] over ids[n, t] = v.

    The ids may arrive as floats (the model casts its input to the training dtype; ids below 2^24 are
    exact in float32); they are rounded. W is (vocab_size, dim), drawn from N(0, init_scale^2) (0.02, as GPT-2).
    """

    regularized = ("W",)
    input_grad = True  # False (the model's first layer): backward returns None

    def __init__(self, dim: int, vocab_size: int | None = None, init_scale: float = 0.02):
        super().__init__()
        self.dim, self.init_scale = int(dim), float(init_scale)
        self.vocab_size = vocab_size

    def build(self, input_shape, rng, dtype):
        if len(input_shape) != 1:
            raise ConfigError(
                f"an embedding reads token ids of shape (steps,), but its input has shape {tuple(input_shape)}",
                fix="put the embedding first, on text data (data.format: text) or an integer (N, L) array",
            )
        if self.vocab_size is None:
            raise ConfigError(
                "the embedding's vocab_size is not known: the data has no vocabulary",
                fix="set vocab_size, or train on text data (data.format: text) whose vocabulary sets it",
            )
        self._steps = int(input_shape[0])
        w = rng.standard_normal((self.vocab_size, self.dim), dtype=dtype)
        w *= self.init_scale
        self.params = {"W": w}
        self.grads = {"W": np.zeros_like(w)}
        return (self.dim, self._steps)

    def warm_up(self) -> None:
        """Compile (or load) the backward's kernel before a timed loop starts."""
        warm_scatter(self.params["W"].dtype)

    def forward(self, x, training):
        ids = token_ids(x, self.vocab_size)
        self._ids, self._x_shape = ids, x.shape
        return self.params["W"][ids].transpose(0, 2, 1)  # (N, L, dim) gathered rows -> the (N, dim, L) view

    def backward(self, dy):
        dW = self.grads["W"]
        dW[...] = 0.0
        # scatter-add: a token used at several steps (or in several examples) collects every one of them
        scatter_add(dW, self._ids, dy)  # dW[(N, L)] += (N, L, dim): np.add.at, or its kernel (kernels/embedding.py)
        if not self.input_grad:
            return None
        return np.zeros(self._x_shape, dtype=dy.dtype)  # the output is piecewise constant in the ids

    def explain(self) -> dict[str, list[str]]:
        return {
            "forward": ["y[:, t] = W[ids[t]]   (row lookup; W: vocab_size × dim)"],
            "backward": ["dW[v] = Σ_{n,t: ids[n,t] = v} dy[n, :, t]   (scatter-add; repeated ids add up)",
                         "d ids = 0   (ids are integers: nothing flows further back)"],
        }  # fmt: skip

    def flops(self, batch: int) -> tuple[int, int]:
        return 0, batch * self._steps * self.dim  # a gather forward, one add per element backward


def token_ids(x: np.ndarray, vocab_size: int) -> np.ndarray:
    """Integer ids (N, L) of x, rounded to the nearest whole number (a gradient check nudges them by ~1e-5);
    an id outside [0, vocab_size) is a DataError naming the first one."""
    ids = (np.rint(x) if x.dtype.kind == "f" else x).astype(np.intp)
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        bad = tuple(int(i) for i in np.argwhere((ids < 0) | (ids >= vocab_size))[0])
        raise DataError(
            f"token id {int(ids[bad])} at (example, step) {bad} is outside the vocabulary 0..{vocab_size - 1}",
            fix="raise the embedding's vocab_size, or fix the ids",
        )
    return ids


def with_vocab_size(layer_specs: Sequence, vocab_size: int | None) -> list:
    """The specs with every embedding's missing vocab_size set to the data's; other specs unchanged.

    Works on validated pydantic specs and on resolved dicts (a checkpoint's config), nested ones too.
    """
    return [_filled(spec, vocab_size) for spec in layer_specs]


def _filled(spec, vocab_size):
    get = spec.get if isinstance(spec, Mapping) else lambda key, default=None: getattr(spec, key, default)
    changes = {}
    if get("type") == "embedding" and get("vocab_size") is None and vocab_size is not None:
        changes["vocab_size"] = int(vocab_size)
    if get("type") == "residual":
        changes["layers"] = with_vocab_size(get("layers"), vocab_size)
    if not changes:
        return spec
    return {**spec, **changes} if isinstance(spec, Mapping) else spec.model_copy(update=changes)


def check_token_ids(model, data) -> None:
    """Before training: a model that starts with an embedding gets whole-number ids inside its vocabulary.

    data: a Dataset. A user's integer file scaled by data.scale, or ids >= vocab_size, fail here with
    the file, the split and the example, not in the middle of an epoch.
    """
    first = model.layers[0] if model.layers else None
    if not isinstance(first, Embedding):
        return
    for split in ("train", "val", "test"):
        x = getattr(data, f"x_{split}")
        if x is None or not x.size:
            continue
        if x.dtype.kind == "f" and not np.array_equal(np.rint(x), x):
            raise DataError(
                f"the model starts with an embedding, which reads token ids, but the {split} inputs are not "
                "whole numbers",
                where=data.source,
                fix="store integer token ids and set data.scale: none (scaling turns ids into fractions)",
            )
        try:
            token_ids(x, first.vocab_size)
        except DataError as err:
            raise DataError(f"{split} split: {err.what}", where=data.source, fix=err.fix) from None
