"""`backprop lr-find`: the learning-rate range test (Smith 2017, "Cyclical Learning Rates", section 3.3).

A copy of the configured run (its data, model, loss, optimizer, penalties and clipping; no run
directory) trains for up to `steps` steps while the rate rises exponentially from `start` to `end`.
The loss is smoothed by an exponential moving average (bias-corrected, about ten steps of memory); the
test stops when the smoothed loss exceeds 4x its minimum, or a loss is not finite. Two suggestions,
as fastai makes them: the rate where the smoothed loss falls fastest (per decade of lr), and the rate
at its minimum / 10. On the MNIST MLP with Adam they land at 5e-4 to 2e-3 (README, lr-find).
Nothing is written: no run directory, no weights. SIGINT stops between steps and keeps what was seen.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from backprop_cli.limits import LR_RANGE
from backprop_cli.optim.schedules import Schedule

DEFAULT_STEPS = 200
BLOW_UP = 4.0  # stop once the smoothed loss exceeds this many times its minimum
SMOOTHING = 0.9  # the moving average's beta: about 10 steps of memory
SKIP_START = 0.1  # the first steps' slope is noise around the initial loss: not a candidate
FLAT = 0.02  # a smoothed loss that never falls below 98% of where it began has shown no rate that works


class RangeSchedule(Schedule):
    """lr = start·(end/start)^(s/(S−1)): from start at step 0 to end at step S − 1, the same factor each step."""

    def __init__(self, start: float, end: float, steps: int):
        super().__init__(start, 1, steps)
        self.start, self.end, self.steps = start, end, steps

    def lr_at(self, step: int, epoch: int) -> float:
        # in logs: end / start itself may overflow (1e300 / 1e-300), the rate between them never does
        fraction = step / max(self.steps - 1, 1)
        return math.exp(math.log(self.start) + (math.log(self.end) - math.log(self.start)) * fraction)

    def explain(self) -> str:
        return f"lr = {self.start:g}·({self.end:g}/{self.start:g})^(s/{max(self.steps - 1, 1)})"


@dataclass
class LrFindResult:
    start: float
    end: float
    steps: int
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    stopped: str = "end"  # end | blew_up (smoothed > 4x min) | diverged (non-finite) | interrupted
    steepest: float | None = None  # the rate where the smoothed loss falls fastest
    min_over_10: float | None = None  # the rate at the smoothed minimum, / 10
    no_suggestion: str | None = None  # why neither suggestion is made, when none is

    @property
    def suggested(self) -> float | None:
        """The one rate to try: the steepest descent, else the minimum's rate / 10."""
        return self.steepest if self.steepest is not None else self.min_over_10

    def to_dict(self) -> dict:
        return {**asdict(self), "suggested": self.suggested}


def lr_range_test(
    config, start: float = 1e-7, end: float = 10.0, steps: int = DEFAULT_STEPS, parts=None, progress=None
) -> LrFindResult:
    """Train a copy of the configured run while raising the rate; returns an LrFindResult.
    `progress(result, smoothed loss)` is called after every step (the CLI reports on stderr)."""
    from backprop_cli.train.setup import build_parts
    from backprop_cli.train.signals import stop_on_signals

    low, high = LR_RANGE
    if not low <= start < end <= high:  # NaN fails too
        from backprop_cli.errors import ConfigError

        raise ConfigError(
            f"--start {start:g} must be > 0 and below --end {end:g} (both from {low:g} to {high:g})",
            fix="for example --start 1e-7 --end 10",
        )
    parts = parts or build_parts(config)
    trainer = parts.trainer
    trainer.schedule = RangeSchedule(start, end, steps)
    result = LrFindResult(start, end, steps)
    with stop_on_signals(trainer), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        _run(trainer, result, progress or (lambda r, s: None))
    if trainer.status == "interrupted":
        result.stopped = "interrupted"
    _suggest(result)
    return result


def _run(trainer, result: LrFindResult, progress) -> None:
    """Steps over as many epochs as it takes, until `steps`, a blow-up, divergence or a signal."""
    average, best = 0.0, math.inf
    while True:
        trainer.begin_epoch()
        for xb, yb in trainer.epoch_batches():
            loss = trainer.train_step(xb, yb)
            if not math.isfinite(loss) or trainer.status == "diverged":
                result.stopped = "diverged"
                return
            average = SMOOTHING * average + (1 - SMOOTHING) * loss
            smooth = average / (1 - SMOOTHING ** (len(result.losses) + 1))  # undoes the start at 0
            result.lrs.append(float(trainer.lr))
            result.losses.append(float(loss))
            result.smoothed.append(smooth)
            best = min(best, smooth)
            progress(result, smooth)
            if smooth > BLOW_UP * best:
                result.stopped = "blew_up"
                return
            if len(result.losses) >= result.steps or trainer.stop_requested:
                return
        trainer.batch_in_epoch = 0  # the next epoch draws a new order
        trainer.epoch += 1


def _suggest(result: LrFindResult) -> None:
    """Fill in the two suggestions from the smoothed curve up to its minimum, or say why there are none:
    an interrupted scan has not seen the rates that matter, and a flat one has shown none that works."""
    result.no_suggestion = _why_no_suggestion(result)
    if result.no_suggestion is not None:
        return
    s = np.asarray(result.smoothed)
    lowest = int(np.argmin(s))
    result.min_over_10 = result.lrs[lowest] / 10 if result.lrs[lowest] / 10 >= result.start else None
    first = int(SKIP_START * len(s))
    if lowest - first < 3:
        return
    slope = np.gradient(s[first : lowest + 1], np.log10(result.lrs[first : lowest + 1]))  # loss per decade
    result.steepest = result.lrs[first + int(np.argmin(slope))]


def _why_no_suggestion(result: LrFindResult) -> str | None:
    if result.stopped == "interrupted":
        return "the scan was interrupted before it saw the rates that matter (let it run to the end)"
    if len(result.smoothed) < 5:
        return "too few steps to see the loss fall (raise --steps, or --end)"
    s = np.asarray(result.smoothed)
    first = int(SKIP_START * len(s))
    if s[first:].min() > (1 - FLAT) * s[first]:
        return (f"the loss stayed flat (its lowest is within {FLAT:.0%} of where it began): no rate from "
                f"{result.start:g} to {result.lrs[-1]:.2g} made it fall; look at the model or the data first "
                "(backprop check), or widen --start/--end")  # fmt: skip
    return None


def save_lr_plot(result: LrFindResult, output) -> None:
    """The loss against the rate (log axis), raw and smoothed, the suggestions marked; written atomically."""
    from pathlib import Path

    from backprop_cli.plot.curves import _matplotlib, image_format, render
    from backprop_cli.runs.atomic import atomic_write_bytes

    path = Path(output)
    fmt = image_format(path)
    Figure, FigureCanvasAgg, _, _ = _matplotlib()
    fig = Figure(figsize=(7, 4.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(result.lrs, result.losses, color="0.75", linewidth=0.8, label="loss per step")
    ax.plot(result.lrs, result.smoothed, color="C0", linewidth=2, label="smoothed")
    for rate, style, name in ((result.steepest, "C2", "steepest descent"), (result.min_over_10, "C3", "minimum / 10")):
        if rate is not None:
            ax.axvline(rate, color=style, linestyle="--", label=f"{name}: {rate:.2g}")
    ax.set_xscale("log")
    if result.smoothed:
        low, high = min(result.smoothed), max(result.smoothed[0], min(result.smoothed) * BLOW_UP)
        ax.set_ylim(low - 0.05 * (high - low), high + 0.1 * (high - low))
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title(f"learning-rate range test: {len(result.lrs)} steps, {result.start:g} to {result.end:g}")
    ax.legend(fontsize="small")
    fig.tight_layout()
    atomic_write_bytes(path, render(fig, fmt))
