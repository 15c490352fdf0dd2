"""Losses: one signature, the batch mean: `forward(pred, target) -> float`, `backward() -> dpred` (/ N).

`expects` says what the model's last layer must emit: "logits" (raw scores; the link function is
fused into the loss) or "values". `link(pred)` turns outputs into what a user reads: class
probabilities (N, K) for the classification losses, the values themselves for regression.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from backprop_cli.config.names import lookup
from backprop_cli.errors import ConfigError

WHERE = "model.layers"


def _units(n: int) -> str:
    return f"{n} unit{'' if n == 1 else 's'}"


def _require(ok: bool, what: str, fix: str) -> None:
    if not ok:
        raise ConfigError(what, where=WHERE, fix=fix)


def _labels_for(steps: tuple[int, ...]) -> str:
    return "one label per example" if not steps else f"labels of shape {steps} per example (one per step)"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # equals 1/(1+exp(-x)) and never overflows


class Loss:
    """Base: a batch-mean loss and its gradient with respect to the model's output."""

    name = "loss"
    expects = "values"
    options: tuple[str, ...] = ()  # the config keys (beside type) this loss is built with

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def link(self, pred: np.ndarray) -> np.ndarray:
        return pred

    def explain(self) -> dict[str, list[str]]:
        """Formulas for `backprop explain`: {"forward": [...], "backward": [...]}; `pred` is the model's output."""
        raise NotImplementedError

    def check_output(
        self, output_shape: tuple[int, ...], n_classes: int | None = None, n_targets: int | None = None
    ) -> None:
        """Raise ConfigError when a model whose per-example output is `output_shape` cannot fit this loss.

        n_classes: the number of classes of a classification data set (None: regression or unknown);
        n_targets: the number of regression targets (None: unknown). The base accepts any output.
        """

    def check_targets(self, output_shape: tuple[int, ...], task: str, label_shape: tuple[int, ...]) -> None:
        """Raise ConfigError when the data's targets cannot be this loss's: `task` is the data's task and
        `label_shape` one example's target shape (() for a class label, (L,) for one per step, (T,) for
        regression targets). The base (a regression loss) leaves it to check_output's class count."""
        _require(
            self.expects != "logits" or task != "regression",
            f"{self.name} needs class labels, but the data's target is a regression (numbers that are not "
            f"a few integer classes)",
            "use loss: mse (or mae, huber), or set data.task: classification if the numbers are class labels",
        )


class SoftmaxCrossEntropy(Loss):
    """Softmax fused into cross-entropy, from logits: L = mean(logsumexp(z) - z[t]);  dz = (p - onehot) / N.

    Targets are integer labels (N,). The fusion never takes log(softmax), so logits of ±1e4 are fine.
    Sequences: logits (N, K, L) against labels (N, L), the mean over all N·L steps (a language model's
    next-token loss; PyTorch's CrossEntropyLoss with K-dimensional input does the same).
    """

    name = "cross_entropy"
    expects = "logits"
    options = ("label_smoothing",)

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = float(label_smoothing)

    def forward(self, pred, target):
        if pred.ndim == 3:
            return self._forward_steps(pred, target)
        # array methods, not np.max/np.sum/np.mean: the same arithmetic without their Python-level
        # dispatch, which costs more than the arithmetic on a (128, 10) batch (bench/README.md)
        labels = np.asarray(target).reshape(-1).astype(np.intp, copy=False)
        z = pred - pred.max(axis=1, keepdims=True)  # (N, K), each row's max is 0: exp never overflows
        e = np.exp(z)
        sum_e = e.sum(axis=1, keepdims=True)  # >= 1, so its log is finite
        e /= sum_e  # e is ours: the probabilities, which is all the gradient needs (with the labels)
        self._p, self._labels = e, labels
        self._rows = np.arange(z.shape[0])
        nll = np.log(sum_e[:, 0]) - z[self._rows, labels]  # (N,): −log p[n, tₙ]
        return float(self._smoothed(nll, np.log(sum_e) - z, axis=1).mean())

    def _smoothed(self, nll: np.ndarray, neg_log_p: np.ndarray, axis: int) -> np.ndarray:
        """−Σₖ qₖ log pₖ with q = (1 − ε)·onehot + ε/K: the labels' term and ε times the mean over classes."""
        eps = self.label_smoothing
        if not eps:
            return nll
        return (1.0 - eps) * nll + eps * neg_log_p.mean(axis=axis).reshape(nll.shape)

    def backward(self):
        if self._p.ndim == 3:
            return self._backward_steps()
        eps = self.label_smoothing
        dz = self._p.copy()
        if eps:
            dz -= eps / dz.shape[1]  # the ε/K every class gets
        dz[self._rows, self._labels] -= 1.0 - eps
        dz *= 1.0 / dz.shape[0]
        return dz

    def explain(self):
        eps = self.label_smoothing
        if not eps:
            return {
                "forward": [
                    "p = softmax(z) per row   (z: the logits, the model's output)",
                    "L = −(1/N) Σₙ log p[n, tₙ]",
                ],
                "backward": ["dz = (p − onehot(t)) / N   (softmax and log cancel: no division by p)"],
            }
        return {
            "forward": [
                "p = softmax(z) per row   (z: the logits, the model's output)",
                f"q = {1 - eps:g}·onehot(t) + {eps:g}/K   (label smoothing ε = {eps:g}, K classes)",
                "L = −(1/N) Σₙ Σₖ q[n, k] log p[n, k]",
            ],
            "backward": ["dz = (p − q) / N   (softmax and log cancel: no division by p)"],
        }

    # ---- every step of a sequence: logits (N, K, L) against labels (N, L), as PyTorch's K-dimensional case --
    def _forward_steps(self, pred, target):
        """L = mean over the N·L tokens of logsumexp_k(z[n, :, t]) - z[n, label, t]."""
        labels = np.asarray(target).astype(np.intp, copy=False).reshape(pred.shape[0], 1, pred.shape[2])
        z = pred - pred.max(axis=1, keepdims=True)  # (N, K, L): each step's max is 0
        e = np.exp(z)
        sum_e = e.sum(axis=1, keepdims=True)  # (N, 1, L)
        e /= sum_e
        self._p, self._labels = e, labels
        picked = np.take_along_axis(z, labels, axis=1)  # (N, 1, L): the target's logit at each step
        log_sum = np.log(sum_e)  # (N, 1, L)
        return float(self._smoothed(log_sum - picked, log_sum - z, axis=1).mean())

    def _backward_steps(self):
        """dz = (p - q) / (N L), per step."""
        eps = self.label_smoothing
        dz = self._p.copy()
        if eps:
            dz -= eps / dz.shape[1]
        np.put_along_axis(dz, self._labels, np.take_along_axis(dz, self._labels, axis=1) - (1.0 - eps), axis=1)
        dz *= 1.0 / (dz.shape[0] * dz.shape[2])
        return dz

    def link(self, pred):
        z = pred - np.max(pred, axis=1, keepdims=True)
        np.exp(z, out=z)
        return z / np.sum(z, axis=1, keepdims=True)

    def check_output(self, output_shape, n_classes=None, n_targets=None):
        if len(output_shape) == 2:  # (K, L): a score per class at every step
            _require(
                n_classes is None or output_shape[0] == n_classes,
                f"cross_entropy over steps needs one score per class at each step: the model outputs "
                f"{output_shape[0]} per step, but the data has {n_classes} classes (its vocabulary)",
                f"set the last layer to {{type: dense, units: {n_classes}, per_step: true}}",
            )
            return
        shape, k = tuple(output_shape), n_classes or 2
        no_softmax = " and no activation (the loss applies softmax itself)"
        _require(
            len(shape) == 1,
            f"cross_entropy needs one score per class, but the model outputs shape {shape}",
            f"add {{type: flatten}} and a dense layer of {_units(k)}{no_softmax} at the end",
        )
        _require(
            n_classes is None or shape[0] == n_classes,
            f"cross_entropy needs one output per class: the model outputs {shape[0]}, "
            f"but the data has {n_classes} classes",
            f"set the last dense layer's units to {n_classes}{no_softmax}",
        )
        _require(
            shape[0] >= 2,
            f"cross_entropy needs at least 2 outputs (one per class), but the model outputs {shape[0]}",
            "give the last dense layer one unit per class, or use loss: binary_cross_entropy with 1 unit",
        )

    def check_targets(self, output_shape, task, label_shape):
        super().check_targets(output_shape, task, label_shape)
        steps = tuple(output_shape)[1:]  # (L,) when the model scores every step, else ()
        _require(
            tuple(label_shape) == steps,
            f"cross_entropy needs {_labels_for(steps)} to match the model's output {tuple(output_shape)}, "
            f"but the data has {_labels_for(tuple(label_shape))}",
            "give one label per example (y of shape (N,)) with a last dense layer of one unit per class, or "
            "labels of shape (N, L) with a per-step last layer ({type: dense, units: K, per_step: true})",
        )


class BinaryCrossEntropyWithLogits(Loss):
    """Sigmoid fused into binary cross-entropy, from logits: L = mean(log(1 + e^z) - t z);  dz = (p - t) / N.

    pred (N, 1), target (N,) or (N, 1) of 0/1; log(1 + e^z) = logaddexp(0, z) never overflows.
    """

    name = "binary_cross_entropy"
    expects = "logits"
    options = ("label_smoothing",)

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = float(label_smoothing)

    def forward(self, pred, target):
        t = np.asarray(target).reshape(pred.shape).astype(pred.dtype, copy=False)
        if self.label_smoothing:  # K = 2 classes: t -> (1 − ε) t + ε/2, Keras' rule
            t = t * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        self._z, self._t = pred, t
        return float(np.mean(np.logaddexp(0.0, pred) - t * pred))

    def backward(self):
        dz = _sigmoid(self._z)
        dz -= self._t
        dz *= 1.0 / dz.shape[0]
        return dz

    def explain(self):
        eps = self.label_smoothing
        smoothing = [f"t ← {1 - eps:g}·t + {eps / 2:g}   (label smoothing ε = {eps:g})"] if eps else []
        return {
            "forward": [*smoothing, "L = (1/N) Σₙ [log(1 + e^zₙ) − tₙ·zₙ]   (= −t log σ(z) − (1 − t) log(1 − σ(z)))"],
            "backward": ["dz = (σ(z) − t) / N"],
        }

    def link(self, pred):
        p1 = _sigmoid(pred.reshape(-1, 1))
        return np.concatenate([1.0 - p1, p1], axis=1)  # (N, 2): argmax is the predicted class, as for softmax

    def check_output(self, output_shape, n_classes=None, n_targets=None):
        shape = tuple(output_shape)
        _require(
            n_classes is None or n_classes == 2,
            f"binary_cross_entropy is for 2 classes, but the data has {n_classes}",
            f"use loss: cross_entropy with a last dense layer of {_units(n_classes or 2)}",
        )
        _require(
            shape == (1,),
            f"binary_cross_entropy needs 1 output per example (the logit of class 1), "
            f"but the model outputs shape {shape}",
            "set the last dense layer's units to 1 (no activation), or use loss: cross_entropy with 2 units",
        )

    def check_targets(self, output_shape, task, label_shape):
        super().check_targets(output_shape, task, label_shape)
        _require(
            tuple(label_shape) == (),
            f"binary_cross_entropy needs one label per example, but the data has {_labels_for(tuple(label_shape))}",
            "give y of shape (N,) with labels 0 and 1",
        )


class _Regression(Loss):
    """Elementwise losses of the residual r = pred - target, averaged over every element of the batch."""

    def check_output(self, output_shape, n_classes=None, n_targets=None):
        shape = tuple(output_shape)
        _require(
            len(shape) == 1,
            f"{self.name} needs a vector of {n_targets or 'one or more'} value(s) per example, "
            f"but the model outputs shape {shape}",
            f"add {{type: flatten}} and a dense layer of {_units(n_targets or 1)} at the end",
        )
        _require(
            n_classes is None,
            f"{self.name} is a regression loss, but the data has {n_classes} classes",
            f"use loss: cross_entropy with a last dense layer of {_units(n_classes or 2)}, or, if the numbers "
            "are quantities rather than class labels, set data.task: regression",
        )
        _require(
            n_targets is None or shape[0] == n_targets,
            f"the model outputs {shape[0]} value(s) per example, but the data has {n_targets} target(s)",
            f"set the last dense layer's units to {n_targets}",
        )

    def _residual(self, pred, target):
        t = np.asarray(target).reshape(pred.shape).astype(pred.dtype, copy=False)
        return pred - t  # (N, T)


class MSE(_Regression):
    """L = mean(r^2);  dpred = 2 r / (N T)."""

    name = "mse"

    def forward(self, pred, target):
        self._r = self._residual(pred, target)
        return float(np.mean(self._r * self._r))

    def backward(self):
        return self._r * (2.0 / self._r.size)

    def explain(self):
        return {
            "forward": ["r = pred − t", "L = (1/(N·T)) Σ r²   (the mean over every output of every example)"],
            "backward": ["dpred = 2r / (N·T)"],
        }


class MAE(_Regression):
    """L = mean(|r|);  dpred = sign(r) / (N T), the subgradient 0 at r = 0."""

    name = "mae"

    def forward(self, pred, target):
        self._r = self._residual(pred, target)
        return float(np.mean(np.abs(self._r)))

    def backward(self):
        return np.sign(self._r) * (1.0 / self._r.size)

    def explain(self):
        return {"forward": ["r = pred − t", "L = (1/(N·T)) Σ |r|"], "backward": ["dpred = sign(r) / (N·T)"]}


class Huber(_Regression):
    """L = mean(r^2 / 2 if |r| <= delta else delta (|r| - delta / 2));  dpred = clip(r, ±delta) / (N T)."""

    name = "huber"
    options = ("delta",)

    def __init__(self, delta: float = 1.0):
        self.delta = float(delta)

    def forward(self, pred, target):
        self._r = r = self._residual(pred, target)
        a = np.abs(r)
        quadratic = np.minimum(a, self.delta)  # the part of |r| inside the quadratic zone
        # 0.5 q^2 + delta (|r| - q) equals both branches of the definition
        return float(np.mean(0.5 * quadratic * quadratic + self.delta * (a - quadratic)))

    def backward(self):
        return np.clip(self._r, -self.delta, self.delta) * (1.0 / self._r.size)

    def explain(self):
        d = f"{self.delta:g}"
        return {
            "forward": ["r = pred − t", f"L = (1/(N·T)) Σ (r²/2 if |r| ≤ {d} else {d}·(|r| − {d}/2))"],
            "backward": [f"dpred = clip(r, −{d}, {d}) / (N·T)"],
        }


LOSSES: dict[str, type[Loss]] = {
    "cross_entropy": SoftmaxCrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropyWithLogits,
    "mse": MSE,
    "mae": MAE,
    "huber": Huber,
}


def build_loss(spec="cross_entropy", key_path: str = "loss", resolved: bool = False) -> Loss:
    """A loss from its config: a name, a dict such as {type: huber, delta: 2.0}, or a LossConfig.

    `resolved=True` trusts a dict dumped from a validated LossConfig (a checkpoint's): no pydantic loaded.
    """
    if isinstance(spec, str):
        spec = {"type": spec}
    if isinstance(spec, Mapping):
        kind = lookup(LOSSES, "loss", spec.get("type", "cross_entropy"), f"{key_path}.type")
        if resolved:  # a checkpoint written before a key existed has its default
            return kind(**{key: spec[key] for key in kind.options if key in spec})
        from backprop_cli.config.schema import LossConfig
        from backprop_cli.config.validation import validate

        spec = validate(LossConfig, dict(spec), prefix=key_path)
    cls = LOSSES[spec.type]
    return cls(**{key: getattr(spec, key) for key in cls.options})
