"""`additions`: a synthetic text of sums, "37+48=85\\n", to see whether a language model learns to add.

From the seed, n_samples distinct problems a+b whose operands have exactly `digits` digits
(10..99 for 2; 0..9 for 1; default: every problem, 8,100 for 2 digits) are drawn in random order;
the first tenth are the test problems, never written into the training text. Exact-match accuracy asks the model to
complete "a+b=" on each test problem (lm.exact_match).
"""

from __future__ import annotations

import numpy as np

from backprop_cli.data.rng import data_rng
from backprop_cli.data.text import Corpus
from backprop_cli.errors import DataError
from backprop_cli.limits import check_generated

TEST_FRACTION = 0.1
BYTES_PER_CHARACTER = 40  # the text, its UTF-32 copy, its ids, and the windows cut from them (x and y)
TAIL_SHUFFLE = 50  # numpy draws n of `total` without replacement by shuffling all of them when n > total / 50


def problems(digits: int, n_samples: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) int64 arrays of distinct problems in the seed's order; the first tenth are the test problems."""
    low = 10 ** (digits - 1) if digits > 1 else 0  # exactly `digits` digits: no shorter operand
    span = 10**digits - low
    total = span * span
    n = min(n_samples or total, total)
    if n < 10:
        raise DataError(f"additions needs at least 10 problems, got {n}", where="data.n_samples")
    check_generated(
        generated_bytes(digits, n, total),
        f"{n:,} problems of {digits}-digit operands",
        "data.n_samples",
        f"set data.n_samples (e.g. 10000; every problem with {digits} digits is {total:,}), or lower data.digits",
    )
    rng = data_rng(seed, "generate")
    pairs = rng.permutation(total)[:n] if total <= 1 << 22 else rng.choice(total, size=n, replace=False)
    a, b = np.divmod(pairs, span)
    return a + low, b + low


def generated_bytes(digits: int, n: int, total: int) -> int:
    """Bytes drawing n of the `total` problems and writing them out takes: the draw (all `total` indices when
    it shuffles them, as numpy does for a small total or a large share of it) and the text of n lines."""
    shuffles_all = total <= 1 << 22 or n > total // TAIL_SHUFFLE
    draw = 8 * total if shuffles_all else 16 * n
    return draw + n * (3 * digits + 4) * BYTES_PER_CHARACTER  # "a+b=c\n": 2·digits + (digits + 1) + 3 characters


def lines(a: np.ndarray, b: np.ndarray) -> str:
    return "".join(f"{x}+{y}={x + y}\n" for x, y in zip(a.tolist(), b.tolist()))


def split_problems(digits: int, n_samples: int | None, seed: int):
    """((a, b) of training, (a, b) of test): the same split at training and at evaluation."""
    a, b = problems(digits, n_samples, seed)
    n_test = max(1, int(round(len(a) * TEST_FRACTION)))
    return (a[n_test:], b[n_test:]), (a[:n_test], b[:n_test])


def additions_corpus(digits: int, n_samples: int | None, seed: int) -> Corpus:
    (a, b), (ta, tb) = split_problems(digits, n_samples, seed)
    info = {"digits": digits, "n_samples": n_samples, "test_problems": len(ta)}
    return Corpus(lines(a, b), "additions", test=lines(ta, tb), info=info)
