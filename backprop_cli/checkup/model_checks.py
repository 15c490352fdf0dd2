"""The recipe's checks of the model and loss, each on fresh copies of the configured network.

initial loss    the loss at init against the loss of an output that says nothing (all zeros): ln K for
                cross-entropy over K classes, ln 2 for binary cross-entropy, the mean of y² (≈ 1 for
                standardized targets) for MSE
overfit batch   a few rows driven near zero loss: else the model or the loss cannot fit at all
zeroed inputs   a few rows fitted with their inputs and with zeros instead: the loss without the inputs
                must end clearly worse (with them the rows can be memorised, without them only their mean)
shuffled labels labels shuffled among the distinct inputs of train and validation alike: after a short
                training the validation metric must stay at chance; above it, held-out rows repeat
                training rows (or something else lets the answer through)
"""

from __future__ import annotations

import math

import numpy as np

from backprop_cli.checkup.finding import Finding, skipped, verdict
from backprop_cli.checkup.short_training import fit, fresh_parts, loss_on
from backprop_cli.train.evaluate import predict_raw, predicted_classes

LOSS_ROWS = 1024  # rows the initial loss is measured on
INIT_TOLERANCE = 0.5  # the initial loss within ±50% of the know-nothing loss
OVERFIT_ROWS = 16
OVERFIT_TARGET = 0.05  # "near zero": at most this fraction of the batch's initial loss
OVERFIT_RATES = (1e-2, 3e-2)  # Adam's rates tried: a small net fits faster at the larger, a deep one needs the smaller
ZEROED_STEPS = 100
SHUFFLED_STEPS = 60
ZEROED_ROWS = 32  # fitted in full batches: with its inputs the model can memorise them, without it cannot
# Both trainings are the same but for the inputs, and an input-blind model stops at the rows' mean: with the
# inputs the loss must end at least 2% lower (slow learners, as an LSTM on the adding problem, get 3% here)
CLEARLY_WORSE = 0.98
SHUFFLED_ROWS = 2048
OVER_CONFIDENT = (
    "the output layer is over-confident at init; use a smaller init for the last layer "
    "(init: xavier_normal, or a smaller init_scale)"
)
LEAK = "validation rows repeat training rows (see split duplicates), or the labels leak into the inputs"
EXPECTED = {"binary_cross_entropy": "ln 2", "mse": "mean y²"}


def initial_loss(config, data) -> Finding:
    parts = fresh_parts(config, data)
    x, y = data.x_train[:LOSS_ROWS], data.y_train[:LOSS_ROWS]
    pred = predict_raw(parts.model, x)
    measured = float(parts.loss.forward(pred, y))
    expected = float(parts.loss.forward(np.zeros_like(pred), y))  # what an output of zeros scores
    name = EXPECTED.get(parts.loss.name, "the loss of a zero output")
    if parts.loss.name == "cross_entropy":
        name = f"ln {data.n_classes}"
    ok = abs(measured - expected) <= INIT_TOLERANCE * expected
    fix = ""
    if measured > expected:
        fix = OVER_CONFIDENT
    elif not ok:
        fix = "the untrained model already beats a know-nothing guess: does an input carry the target? (target leakage)"
    return Finding(
        "initial loss",
        f"{measured:.4g}",
        f"{expected:.4g} ({name}) ±{INIT_TOLERANCE:.0%}",
        verdict(ok),
        "" if ok else fix,
    )


def overfit_one_batch(config, data, steps: int) -> Finding:
    """The lowest loss OVERFIT_RATES reach (the second tried only if needed): can the model fit at all?"""
    x, y = _some_rows(data, OVERFIT_ROWS, config.seed)
    rows, start, end, rate = len(x), math.nan, math.inf, None
    for lr in OVERFIT_RATES:  # the larger rate only when the smaller one did not get there
        parts = fresh_parts(config, data, lr)
        start = loss_on(parts, x, y)
        fit(parts, x, y, steps, seed=config.seed)
        reached = loss_on(parts, x, y)
        if math.isfinite(reached) and reached < end:
            end, rate = reached, lr
        if end <= OVERFIT_TARGET * start:
            break
    ok = end <= OVERFIT_TARGET * start
    fix = ""
    if not ok:
        if end >= 0.9 * start:
            fix = ("the loss does not fall: no gradient reaches the weights (a zero or dead init, a frozen or "
                   "saturated layer) or the loss does not fit the output; see `backprop trace`")  # fmt: skip
        else:
            fix = ("the loss falls but cannot reach zero: the model is too small or too constrained to memorise "
                   f"{rows} rows (a bottleneck layer, heavy dropout); make it larger")  # fmt: skip
    at = f" (Adam, lr {rate:g})" if rate is not None else ""
    measured = f"loss {start:.4g} -> {end:.4g} in {steps} steps on {rows} rows{at}"
    return Finding("overfit one batch", measured, f"<= {OVERFIT_TARGET:g} × the start", verdict(ok), fix)


def _some_rows(data, n: int, seed: int):
    """n training rows drawn at random (seeded): the first rows of a file are often of one class."""
    rows = np.sort(np.random.default_rng(seed).permutation(len(data.x_train))[:n])
    return data.x_train[rows], data.y_train[rows]


def zeroed_inputs(config, data, steps: int = ZEROED_STEPS) -> Finding:
    if len(data.x_train) < ZEROED_ROWS // 4:
        return skipped("zeroed inputs", f"only {len(data.x_train)} training rows: their mean fits them as well")
    x, y = _some_rows(data, ZEROED_ROWS, config.seed)
    zeros = np.zeros_like(x)
    losses = []
    for inputs in (x, zeros):
        parts = fresh_parts(config, data)
        fit(parts, inputs, y, steps, seed=config.seed)
        losses.append(loss_on(parts, inputs, y))
    real, zeroed = losses
    ok = math.isfinite(real) and real <= CLEARLY_WORSE * zeroed
    fix = (
        "" if ok else "the model learns as much without its inputs: it ignores them, or they tell nothing of the target"
    )
    return Finding("zeroed inputs", f"loss {real:.4g} with the inputs, {zeroed:.4g} with zeros",
                   f"real <= {CLEARLY_WORSE:g} × zeroed after {steps} steps", verdict(ok), fix)  # fmt: skip


def shuffled_labels(config, data, steps: int = SHUFFLED_STEPS) -> Finding:
    name = "shuffled labels"
    if data.x_val is None or not len(data.x_val):
        return skipped(name, "no validation split (data.validation_split: 0)")
    x_train, x_val = data.x_train[:SHUFFLED_ROWS], data.x_val[:SHUFFLED_ROWS]
    y_train, y_val = _shuffle_among_rows(
        x_train, data.y_train[:SHUFFLED_ROWS], x_val, data.y_val[:SHUFFLED_ROWS], config.seed
    )
    parts = fresh_parts(config, data)
    fit(parts, x_train, y_train, steps, seed=config.seed)
    pred = predict_raw(parts.model, x_val)
    if data.task == "classification":
        return _at_chance(name, predicted_classes(pred), y_train, y_val)
    return _no_fit(name, parts.loss.link(pred), y_val)


def _shuffle_among_rows(x_train, y_train, x_val, y_val, seed: int):
    """The labels permuted among the distinct input rows of train and validation together: a row that
    appears twice keeps one (shuffled) label, so a validation row repeated from training can be memorised."""
    x = np.concatenate([x_train, x_val]).reshape(len(x_train) + len(x_val), -1)
    y = np.concatenate([y_train, y_val])
    _, first, inverse = np.unique(x, axis=0, return_index=True, return_inverse=True)
    order = np.random.default_rng(seed).permutation(len(first))
    shuffled = y[first][order][inverse.reshape(-1)]
    return shuffled[: len(x_train)], shuffled[len(x_train) :]


def _at_chance(name: str, predicted, y_train, y_val) -> Finding:
    values, counts = np.unique(y_train, return_counts=True)
    chance = float(np.mean(y_val == values[np.argmax(counts)]))  # always guessing training's majority class
    accuracy = float(np.mean(predicted == y_val))
    margin = 3 * math.sqrt(max(chance * (1 - chance), 1e-3) / y_val.size) + 0.02  # three standard errors
    ok = accuracy <= chance + margin
    fix = "" if ok else LEAK
    return Finding(name, f"val accuracy {accuracy:.3f}", f"<= chance {chance:.3f} + {margin:.3f}", verdict(ok), fix)


def _no_fit(name: str, pred, y_val) -> Finding:
    y = np.asarray(y_val, dtype=np.float64).reshape(len(y_val), -1)
    residual = np.sum((y - np.asarray(pred, dtype=np.float64).reshape(y.shape)) ** 2)
    r2 = 1.0 - residual / max(float(np.sum((y - y.mean(axis=0)) ** 2)), 1e-300)
    ok = r2 <= 0.1
    fix = "" if ok else LEAK
    return Finding(name, f"val R² {r2:.3f}", "<= 0.1 (no better than the mean)", verdict(ok), fix)
