"""Learning-rate schedules: a pure `lr_at(step, epoch)`, except plateau, which also observes the metrics.

`step` is the global count of optimizer steps taken before the one about to be taken (0-based) and
`epoch` is 0-based. Every schedule has `state_dict()`/`load_state_dict()` (plain JSON-able dicts,
empty for the pure ones) and `observe(epoch, logs) -> bool` (a no-op returning False for the pure
ones), so that the trainer treats them all alike.
"""

from __future__ import annotations

import math
from typing import Any

from backprop_cli.errors import CheckpointError, ConfigError


class Schedule:
    """lr as a function of (step, epoch); the base rate is the optimizer's `lr`.

    Any schedule may start with a linear warmup of W steps (`warmup_steps`, or `warmup_epochs` times the
    steps per epoch): lr = rate(s, e) * (s + 1) / W for s < W, where rate is the schedule's own rule.
    The ramp starts at rate / W (a step at rate 0 would be wasted) and reaches the rule's rate at step
    W - 1. A rule counted in steps (cosine) starts after the warmup; a rule counted in epochs (step,
    exponential, plateau) keeps its epochs, and the ramp scales it.
    """

    def __init__(
        self,
        base_lr: float,
        epochs: int,
        steps_per_epoch: int,
        warmup_epochs: float | None = None,
        warmup_steps: int | None = None,
    ) -> None:
        self.base_lr = base_lr
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.total = epochs * steps_per_epoch
        self.warmup_steps = warmup_steps if warmup_steps is not None else round((warmup_epochs or 0) * steps_per_epoch)

    def lr_at(self, step: int, epoch: int) -> float:
        if step < self.warmup_steps:
            return self.rate(step, epoch) * (step + 1) / self.warmup_steps
        return self.rate(step, epoch)

    def rate(self, step: int, epoch: int) -> float:
        """The schedule's own rule, without the warmup."""
        raise NotImplementedError

    def explain(self) -> str:
        """The rule's rate as a formula of the step s (or the epoch e), for `backprop explain`."""
        raise NotImplementedError

    def formula(self) -> str:
        """explain(), with the warmup in front of it when there is one."""
        rule, w = self.explain(), self.warmup_steps
        return rule if not w else f"{rule}, times (s + 1)/{w} for s < {w} (the warmup)"

    def observe(self, epoch: int, logs: dict[str, float]) -> bool:
        """Called at the end of each epoch with its metrics; True when the schedule changed the rate."""
        return False

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state:
            raise CheckpointError(
                f"unexpected schedule state {sorted(state)} for a {type(self).__name__} schedule",
                where="schedule",
                fix="resume with the schedule the checkpoint was written with",
            )


class Constant(Schedule):
    """lr."""

    def rate(self, step: int, epoch: int) -> float:
        return self.base_lr

    def explain(self) -> str:
        return f"lr = {self.base_lr:g}"


class StepDecay(Schedule):
    """lr * gamma ** (epoch // step_size)."""

    def __init__(
        self, base_lr: float, epochs: int, steps_per_epoch: int, step_size: int = 10, gamma: float = 0.1, **warmup
    ):
        super().__init__(base_lr, epochs, steps_per_epoch, **warmup)
        self.step_size, self.gamma = step_size, gamma

    def rate(self, step: int, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)

    def explain(self) -> str:
        return f"lr = {self.base_lr:g}·{self.gamma:g}^⌊e / {self.step_size}⌋   (e: the epoch, from 0)"


class Exponential(Schedule):
    """lr * gamma ** epoch."""

    def __init__(self, base_lr: float, epochs: int, steps_per_epoch: int, gamma: float = 0.95, **warmup):
        super().__init__(base_lr, epochs, steps_per_epoch, **warmup)
        self.gamma = gamma

    def rate(self, step: int, epoch: int) -> float:
        return self.base_lr * self.gamma**epoch

    def explain(self) -> str:
        return f"lr = {self.base_lr:g}·{self.gamma:g}^e   (e: the epoch, from 0)"


class Cosine(Schedule):
    """min_lr + (lr - min_lr) (1 + cos(pi (s - W) / (S - 1 - W))) / 2, per step s of S = epochs * steps_per_epoch
    after a warmup of W steps (0 by default).

    lr at the first step after the warmup, min_lr at the last (and after it). With a single step there is
    nothing to decay over, and that step uses lr.
    """

    def __init__(self, base_lr: float, epochs: int, steps_per_epoch: int, min_lr: float = 0.0, **warmup):
        super().__init__(base_lr, epochs, steps_per_epoch, **warmup)
        self.min_lr = _at_most_base(min_lr, base_lr)

    def rate(self, step: int, epoch: int) -> float:
        return _cosine(self.base_lr, self.min_lr, step, self.warmup_steps, self.total - 1)

    def explain(self) -> str:
        lo, hi, w = f"{self.min_lr:g}", f"{self.base_lr:g}", self.warmup_steps
        s = f"(s − {w})" if w else "s"
        return f"lr = {lo} + ({hi} − {lo})·(1 + cos(π·{s} / {max(self.total - 1 - w, 1)}))/2   (s: the step, from 0)"


class OneCycle(Schedule):
    """Smith's one-cycle policy, PyTorch's OneCycleLR (cos annealing, two phases) without momentum cycling:
    from max_lr / div_factor up to max_lr over the first pct_start of the S steps, then down to
    max_lr / (div_factor · final_div_factor) at the last step, each half a cosine.

    PyTorch's phase boundaries: the peak is at step pct_start · S − 1, the floor at step S − 1.
    """

    def __init__(
        self,
        base_lr: float,
        epochs: int,
        steps_per_epoch: int,
        max_lr: float | None = None,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
    ):
        super().__init__(base_lr, epochs, steps_per_epoch)
        self.max_lr = base_lr if max_lr is None else max_lr
        self.initial_lr = self.max_lr / div_factor
        self.final_lr = self.initial_lr / final_div_factor
        self.peak = pct_start * self.total - 1

    def rate(self, step: int, epoch: int) -> float:
        if step <= self.peak:
            return _cosine(self.initial_lr, self.max_lr, step, 0, self.peak)
        return _cosine(self.max_lr, self.final_lr, step, self.peak, self.total - 1)

    def explain(self) -> str:
        lo, hi, end = f"{self.initial_lr:g}", f"{self.max_lr:g}", f"{self.final_lr:g}"
        last = self.total - 1
        return f"lr = one cycle: {lo} → {hi} by step {self.peak:g}, then → {end} at step {last}, half a cosine each"


MAX_MODE_MONITORS = ("val_accuracy", "train_accuracy")  # higher is better; every other monitor is a loss


class Plateau(Schedule):
    """lr * factor^k after the k-th time `patience` epochs in a row brought no improvement; never below min_lr.

    An epoch improves when its metric beats the best so far by more than min_delta (lower for losses,
    higher for accuracies); NaN or inf never improves. Patience counts like early stopping's: the rate drops
    at the `patience`-th epoch without improvement (patience 0 and 1 both drop at the first), then the
    count starts again from zero while the best value is kept.
    """

    def __init__(
        self,
        base_lr: float,
        epochs: int,
        steps_per_epoch: int,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 5,
        min_delta: float = 0.0,
        min_lr: float = 0.0,
        **warmup,
    ):
        super().__init__(base_lr, epochs, steps_per_epoch, **warmup)
        self.monitor, self.factor, self.patience = monitor, factor, patience
        self.min_delta, self.min_lr = min_delta, _at_most_base(min_lr, base_lr)
        self.sign = -1.0 if monitor in MAX_MODE_MONITORS else 1.0  # compare sign * value: lower is better
        self.scale = 1.0  # factor^k
        self.best: float | None = None  # best value seen (as logged), None before the first epoch
        self.wait = 0  # epochs in a row without improvement

    def rate(self, step: int, epoch: int) -> float:
        return max(self.base_lr * self.scale, self.min_lr)

    def explain(self) -> str:
        return (
            f"lr = max({self.base_lr:g}·{self.factor:g}^k, {self.min_lr:g}), k: how often {self.monitor} "
            f"went {max(self.patience, 1)} epoch(s) without improving"
        )

    def observe(self, epoch: int, logs: dict[str, float]) -> bool:
        value = self._metric(logs)
        if self._improves(value):
            self.best, self.wait = value, 0
            return False
        self.wait += 1
        if self.wait < max(self.patience, 1):
            return False
        self.wait = 0
        return self._reduce()

    def _improves(self, value: float) -> bool:
        if not math.isfinite(value):  # NaN or inf is never an improvement (and never the best)
            return False
        return self.best is None or self.sign * value < self.sign * self.best - self.min_delta

    def _reduce(self) -> bool:
        before = self.rate(0, 0)
        if before <= self.min_lr:  # already at the floor: nothing changes (and scale cannot underflow)
            return False
        self.scale *= self.factor
        return True

    def _metric(self, logs: dict[str, float]) -> float:
        if logs.get(self.monitor) is None:
            raise ConfigError(
                f"the plateau schedule monitors {self.monitor!r}, which this run does not compute",
                where="schedule.monitor",
                fix="set data.validation_split > 0, or monitor train_loss or train_accuracy",
            )
        return float(logs[self.monitor])

    def state_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "best": self.best, "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if set(state) != {"scale", "best", "wait"}:
            raise CheckpointError(
                f"plateau schedule state has keys {sorted(state)}, expected ['best', 'scale', 'wait']",
                where="schedule",
                fix="resume with the schedule the checkpoint was written with",
            )
        self.scale = float(state["scale"])
        self.best = None if state["best"] is None else float(state["best"])
        self.wait = int(state["wait"])


def _cosine(first: float, last: float, step: int, start: float, end: float) -> float:
    """`first` at step `start`, `last` at step `end`, half a cosine in between (PyTorch's annealing
    formula, so the same floats); a span of zero steps stays at `first`."""
    progress = min(max((step - start) / (end - start), 0.0), 1.0) if end > start else 0.0
    return last + (first - last) * 0.5 * (1.0 + math.cos(math.pi * progress))


def _at_most_base(min_lr: float, base_lr: float) -> float:
    if min_lr > base_lr:
        raise ConfigError(
            f"is {min_lr}, above the optimizer's lr ({base_lr}): the rate would rise, not decay",
            where="schedule.min_lr",
            fix="lower schedule.min_lr or raise optimizer.lr",
        )
    return min_lr
