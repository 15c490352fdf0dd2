"""`loss.class_weights`: each class's factor in a classification loss, from the training split.

balanced: w_k = n / (K · count_k), scikit-learn's formula (a class half as frequent counts twice as much);
a mapping by class name (as the data spells it): the factors given, 1 for the classes not named.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.data.hints import did_you_mean
from backprop_cli.errors import ConfigError


def class_weight_vector(spec, y_train: np.ndarray, class_names: list[str] | None, n_classes: int) -> np.ndarray:
    """(K,) float64 factors by class index; `spec`: "balanced" or {class name: factor}."""
    if spec == "balanced":
        counts = np.bincount(np.asarray(y_train).reshape(-1), minlength=n_classes).astype(np.float64)
        return np.divide(counts.sum(), n_classes * counts, out=np.zeros(n_classes), where=counts > 0)
    check_class_names(spec, class_names)
    index = {name: k for k, name in enumerate(class_names)}
    weights = np.ones(n_classes, dtype=np.float64)
    for name, factor in spec.items():
        weights[index[name]] = factor
    return weights


def check_class_names(spec, class_names: list[str] | None) -> None:
    """Every class named in a mapping is one of the data's classes, spelled as the data spells it."""
    if spec is None or spec == "balanced" or class_names is None:
        return
    for name in spec:
        if name not in class_names:
            raise ConfigError(
                f"names the class `{name}`, which the data does not have (its classes: {', '.join(class_names)})",
                where=f"loss.class_weights.{name}",
                fix=did_you_mean(name, class_names),
            )
