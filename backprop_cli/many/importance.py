"""How much of a sweep's metric each parameter explains: an estimate, and labelled as one.

With Optuna (and scikit-learn) installed: fANOVA (Hutter et al. 2014) through Optuna's evaluator,
a random forest fitted to the trials and its variance decomposed by parameter, shares summing to 1.
Otherwise a simple main-effect decomposition: for each parameter, the variance of the metric's mean
per value (numbers cut into quartiles when they take many values), as a share of the metric's
variance. On a full grid these shares are exact main effects; what they leave is interaction and noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

MANY_VALUES = 6  # a parameter with more distinct values than this is cut into quartiles
BINS = 4


def simple_shares(rows: Sequence[dict[str, Any]], keys: Sequence[str], metric: str) -> dict[str, float]:
    """{parameter: main-effect variance / total variance} over the rows that have the metric."""
    scored = [r for r in rows if _number(r.get(metric)) is not None]
    values = [float(r[metric]) for r in scored]
    if len(values) < 2:
        return {k: 0.0 for k in keys}
    mean = math.fsum(values) / len(values)
    total = math.fsum((v - mean) ** 2 for v in values) / len(values)
    if total == 0:
        return {k: 0.0 for k in keys}
    return {k: _main_effect(_levels([r["parameters"].get(k) for r in scored]), values, mean) / total for k in keys}


def _main_effect(levels: list[Any], values: list[float], mean: float) -> float:
    groups: dict[Any, list[float]] = {}
    for level, value in zip(levels, values):
        groups.setdefault(level, []).append(value)
    n = len(values)
    return math.fsum(len(g) / n * (math.fsum(g) / len(g) - mean) ** 2 for g in groups.values())


def _levels(column: list[Any]) -> list[Any]:
    """The value itself, or its quartile when a number takes many values (a random search's draws)."""
    distinct = {repr(v) for v in column}
    numbers = [_number(v) for v in column]
    if len(distinct) <= MANY_VALUES or any(x is None for x in numbers):
        return [repr(v) for v in column]
    order = sorted(range(len(numbers)), key=lambda i: numbers[i])
    levels = [0] * len(numbers)
    for rank, i in enumerate(order):
        levels[i] = rank * BINS // len(numbers)
    return levels


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def fanova_shares(rows: Sequence[dict[str, Any]], spaces: dict[str, Any], metric: str) -> dict[str, float] | None:
    """fANOVA shares through Optuna, or None when Optuna or scikit-learn is missing or too few trials."""
    try:
        import optuna
        import sklearn  # noqa: F401 - Optuna's fANOVA fits scikit-learn's random forest
    except ImportError:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    for row in rows:
        value = _number(row.get(metric))
        if value is None:
            continue
        params = {k: row["parameters"].get(k) for k in spaces}
        try:
            study.add_trial(optuna.trial.create_trial(params=params, distributions=spaces, value=value))
        except ValueError:  # a value outside its declared space: left out of the estimate
            continue
    if len(study.trials) < 2:
        return None
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    return dict(optuna.importance.get_param_importances(study, evaluator=evaluator, normalize=True))


def importance(rows: Sequence[dict[str, Any]], parameters: dict[str, Any], metric: str) -> tuple[str, dict[str, float]]:
    """(method, {parameter: share}): fANOVA where it can run, else the simple decomposition."""
    from backprop_cli.errors import UserError

    keys = list(parameters)
    try:
        from backprop_cli.many.tpe import distributions

        shares = fanova_shares(rows, distributions(parameters), metric)
    except UserError:  # no Optuna
        shares = None
    if shares is not None:
        return "fANOVA (Optuna)", {k: float(shares.get(k, 0.0)) for k in keys}
    return "main effects (variance of the mean per value)", simple_shares(rows, keys, metric)
