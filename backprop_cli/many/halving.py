"""Successive halving's arithmetic: the rungs, how many go on, and who (pure functions, no files).

Rung k ends at min_epochs x eta^k epochs, the last at max_epochs. Synchronous halving decides a rung
once every trial in it has reported: the best max(1, n // eta) go on, ties to the lower trial number,
so the decision depends on the figures alone, never on the order they arrived in. ASHA (Li et al.,
"A System for Massively Parallel Hyperparameter Tuning", 2020) promotes as soon as a trial is in the
top 1/eta of the results its rung has so far: more throughput, decisions that depend on arrival order.
"""

from __future__ import annotations

import math


def rung_epochs(min_epochs: int, max_epochs: int, eta: int) -> list[int]:
    """[1, 3, 9, 27] for (1, 27, 3); [2, 6, 18, 20] for (2, 20, 3): the last rung is max_epochs."""
    rungs, epochs = [], min_epochs
    while epochs < max_epochs:
        rungs.append(epochs)
        epochs *= eta
    return [*rungs, max_epochs]


def keep_count(n: int, eta: int) -> int:
    """How many of a rung's n trials go on: a 1/eta share, at least one."""
    return max(1, n // eta)


def best_first(values: dict[int, float | None], mode: str) -> list[int]:
    """Trial numbers by value, best first, ties to the lower number; trials without a value left out."""
    sign = -1.0 if mode == "max" else 1.0
    scored = [(sign * v, t) for t, v in values.items() if v is not None and math.isfinite(v)]
    return [t for _, t in sorted(scored)]


def promote_synchronously(values: dict[int, float | None], eta: int, mode: str) -> list[int]:
    """Who goes on from a complete rung: the best keep_count of its trials (failed ones never)."""
    return sorted(best_first(values, mode)[: keep_count(len(values), eta)])


def promotable(values: dict[int, float | None], promoted: set[int], eta: int, mode: str) -> int | None:
    """ASHA: a trial in the top len(values) // eta of its rung so far, not yet promoted (the best first)."""
    for trial in best_first(values, mode)[: len(values) // eta]:
        if trial not in promoted:
            return trial
    return None
