"""Warnings about gradient flow, each fired at most once per run, each with a one-line suggestion.

    vanishing   a weight layer's gradient norm below VANISHING_RATIO of the last weight layer's
    vanishing over time  a recurrent layer's gradient at its first step below VANISHING_RATIO of its last
                step's, in VANISHING_TIME_SAMPLES samples in a row (an LSTM starts that way and
                learns to keep its memory open within an epoch or two; a simple RNN stays there)
    exploding   the global gradient norm above a limit, or EXPLODING_RISE times its first value
    dead        more than half of a relu layer's units output 0 for the whole batch
    saturated   more than half of a sigmoid/tanh layer's activations have a derivative below 0.01
    symmetry    every unit of a layer has the same incoming weights (after `init: zeros`)

The rules read a sample of layer_stats; they keep no arrays, only which conditions have fired.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

VANISHING_RATIO = 1e-3
EXPLODING_RISE = 100.0  # two orders of magnitude above the first sample
DEAD_FRACTION = 0.5
SATURATED_FRACTION = 0.5
VANISHING_TIME_SAMPLES = 3


def _above(s: Sample, key: str, threshold: float) -> tuple[list[str], float]:
    """The layers whose statistic `key` exceeds `threshold`, and the largest value among them."""
    layers = [n for n, st in s.stats.items() if (st[key] or 0.0) > threshold]
    return layers, max((s.stats[n][key] for n in layers), default=0.0)


def _layers(names: list[str]) -> str:
    return ("layer " if len(names) == 1 else "layers ") + ", ".join(names)


@dataclass
class Sample:
    """What the rules look at: per-layer statistics, which of those layers have weights, and more."""

    stats: dict[str, dict]
    weight_layers: list[str]  # layers with a weight tensor W (dense, conv2d), in model order
    symmetric: list[str]  # layers whose units are all identical
    grad_norm: float  # the global gradient norm: the epoch's mean, or the sampled step's


@dataclass
class WarningRules:
    exploding_grad_norm: float = 1e3
    grad_clip_norm: float | None = None  # the run's clipping, so the suggestion does not repeat it
    fired: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)  # everything fired so far, in order (for summary.json)
    first_grad_norm: float | None = None
    time_streak: dict[str, int] = field(default_factory=dict)  # recurrent layer -> samples in a row vanishing

    def check(self, sample: Sample) -> list[str]:
        """The warnings this sample fires for the first time (also appended to `warnings`)."""
        if self.first_grad_norm is None and sample.grad_norm > 0:
            self.first_grad_norm = sample.grad_norm
        new = []
        for kind, rule in (
            ("symmetry", self._symmetry),
            ("vanishing", self._vanishing),
            ("vanishing_time", self._vanishing_time),
            ("exploding", self._exploding),
            ("dead", self._dead),
            ("saturated", self._saturated),
        ):
            if kind not in self.fired and (message := rule(sample)):
                self.fired.add(kind)
                new.append(message)
        self.warnings.extend(new)
        return new

    def _symmetry(self, s: Sample) -> str | None:
        if not s.symmetric:
            return None
        return (
            f"identical units (the symmetry problem): every unit of {_layers(s.symmetric)} has the same "
            "incoming weights, so all get the same gradient and never differ; use a random init "
            "(he_normal for relu, xavier_uniform for tanh/sigmoid) instead of zeros"
        )

    def _vanishing(self, s: Sample) -> str | None:
        explained = set(s.symmetric) | set(_above(s, "dead_fraction", DEAD_FRACTION)[0])  # warned about on their own
        layers = [n for n in s.weight_layers if n not in explained]
        if len(layers) < 2 or not s.stats[layers[-1]]["grad_norm"] > 0:
            return None
        last = s.stats[layers[-1]]["grad_norm"]
        low = [n for n in layers[:-1] if s.stats[n]["grad_norm"] < VANISHING_RATIO * last]
        if not low:
            return None
        worst = min(s.stats[n]["grad_norm"] for n in low) / last
        return (
            f"vanishing gradients: the gradient norm of {_layers(low)} is below {VANISHING_RATIO:g} of the "
            f"last layer's (down to {worst:.1e}); try relu with he_normal init, batchnorm, or residual "
            "connections"
        )

    def _vanishing_time(self, s: Sample) -> str | None:
        """BPTT multiplies the gradient by U·act' once per step back: over many steps it can shrink to nothing."""
        low = {}
        for name, st in s.stats.items():
            norms = st.get("time_grad_norm")
            if not norms:
                continue
            vanishing = norms["last"] > 0 and norms["first"] < VANISHING_RATIO * norms["last"]
            self.time_streak[name] = self.time_streak.get(name, 0) + 1 if vanishing else 0
            if self.time_streak[name] >= VANISHING_TIME_SAMPLES:
                low[name] = norms["first"] / norms["last"]
        if not low:
            return None
        return (
            f"gradients vanish over time: in {_layers(list(low))} the gradient reaching the first step's hidden "
            f"state stays below {VANISHING_RATIO:g} of the last step's (down to {min(low.values()):.1e}), so what the "
            "first steps hold barely trains; use lstm or gru, or shorter sequences"
        )

    def _exploding(self, s: Sample) -> str | None:
        rise = s.grad_norm / self.first_grad_norm if self.first_grad_norm else 1.0
        if s.grad_norm > self.exploding_grad_norm:
            what = f"the gradient norm is {s.grad_norm:.3g} (above {self.exploding_grad_norm:g})"
        elif rise >= EXPLODING_RISE:
            what = f"the gradient norm rose {rise:.0f}-fold to {s.grad_norm:.3g}"
        else:
            return None
        norms = {n: st["grad_norm"] or 0.0 for n, st in s.stats.items()}  # after clipping, if any
        total = math.sqrt(sum(v * v for v in norms.values()))
        if total > 0:  # a layer's share of the norm survives clipping by norm: scale it to the norm before
            top = max(norms, key=norms.get)
            what += f", largest in layer {top} (about {norms[top] / total * s.grad_norm:.3g})"
        if self.grad_clip_norm is None:
            fix = "lower the learning rate or set regularization.grad_clip_norm (e.g. 1.0)"
        else:  # clipping bounds the step, not the gradient: the learning rate is what is left to change
            fix = f"lower the learning rate (regularization.grad_clip_norm is {self.grad_clip_norm:g} already)"
        return f"exploding gradients: {what}; {fix}"

    def _dead(self, s: Sample) -> str | None:
        dead, worst = _above(s, "dead_fraction", DEAD_FRACTION)
        if not dead:
            return None
        return (
            f"dead relu units: in {_layers(dead)} over {DEAD_FRACTION:.0%} of the units output 0 for the "
            f"whole batch (up to {worst:.0%}); lower the learning rate, use he_normal init, or leaky_relu"
        )

    def _saturated(self, s: Sample) -> str | None:
        hot, worst = _above(s, "saturated_fraction", SATURATED_FRACTION)
        if not hot:
            return None
        return (
            f"saturated units: in {_layers(hot)} over {SATURATED_FRACTION:.0%} of the sigmoid/tanh "
            f"activations sit in the flat tails, derivative < 0.01 (up to {worst:.0%}); scale the inputs, "
            "add batchnorm before the activation, or use relu"
        )

    def state_dict(self) -> dict:
        return {
            "fired": sorted(self.fired),
            "warnings": list(self.warnings),
            "first_grad_norm": self.first_grad_norm,
            "time_streak": dict(self.time_streak),
        }

    def load_state_dict(self, state: dict) -> None:
        self.fired = set(state.get("fired", []))
        self.warnings[:] = state.get("warnings", [])  # in place: summary.json holds this very list
        self.first_grad_norm = state.get("first_grad_norm")
        self.time_streak = dict(state.get("time_streak", {}))
