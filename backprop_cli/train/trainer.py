"""One run's moving parts and progress. The trainer knows layers, losses and optimizers only by contract."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from backprop_cli.diagnostics.nonfinite import locate_nonfinite
from backprop_cli.optim.regularization import add_penalties, clip_by_global_norm, clip_by_value, global_norm
from backprop_cli.train.evaluate import predicted_classes, score_split


@dataclass
class EpochSums:
    """Running totals of the current epoch; saved in a mid-epoch checkpoint so a resume continues them."""

    loss: float = 0.0
    correct: int = 0
    count: int = 0
    grad_norm: float = 0.0
    steps: int = 0
    labels: int = 0  # classification: labels scored (N per batch, N·L for sequences)
    weight: float = 0.0  # Σ of the rows' weights in the loss (their count when unweighted): loss is weighted by it


@dataclass
class Regularization:
    l1: float = 0.0
    l2: float = 0.0
    clip_norm: float | None = None
    clip_value: float | None = None


@dataclass
class Divergence:
    epoch: int
    step: int
    what: str
    layer: str | None = None  # where the first non-finite value appeared: "layer 0 (dense(relu)) output"


@dataclass
class Trainer:
    model: object
    loss: object
    optimizer: object
    schedule: object
    loader: object
    epochs: int
    model_rng: np.random.Generator
    shuffle_rng: np.random.Generator
    classification: bool
    regularization: Regularization = field(default_factory=Regularization)
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    w_val: np.ndarray | None = None  # the validation rows' weights (a table's weight column)

    def __post_init__(self) -> None:
        self.epoch = 0  # completed epochs
        self.batch_in_epoch = 0  # batches of the current epoch already taken
        self.step = 0  # optimizer steps taken in all
        self.sums = EpochSums()
        self.lr = self.schedule.lr_at(0, 0)
        self.order: np.ndarray | None = None
        self.shuffle_state_at_epoch_start: dict | None = None
        self.stop_reason: str | None = None
        self.status = "running"
        self.divergence: Divergence | None = None
        self.last_grad_norm = 0.0
        self._epoch_started = 0.0

    # ---- stopping -------------------------------------------------------------------------------
    def request_stop(self, reason: str, status: str) -> None:
        """Callbacks and signal handlers stop the run through here; the loop checks between steps."""
        if self.stop_reason is None:
            self.stop_reason, self.status = reason, status

    @property
    def stop_requested(self) -> bool:
        return self.stop_reason is not None

    # ---- one epoch ------------------------------------------------------------------------------
    def begin_epoch(self) -> None:
        """Draw this epoch's order; a resumed mid-epoch run redraws it from the saved generator state."""
        if self.batch_in_epoch == 0:
            self.shuffle_state_at_epoch_start = self.shuffle_rng.bit_generator.state
            self.sums = EpochSums()
        else:
            self.shuffle_rng.bit_generator.state = self.shuffle_state_at_epoch_start
        self.order = self.loader.permutation(self.shuffle_rng)
        self._epoch_started = time.perf_counter()

    def epoch_batches(self):
        return self.loader.batches(self.order, start=self.batch_in_epoch)

    @property
    def epoch_finished(self) -> bool:
        return self.batch_in_epoch >= len(self.loader)

    def train_step(self, xb: np.ndarray, yb: np.ndarray, wb: np.ndarray | None = None) -> float:
        """forward, loss, backward, penalties, clipping, one optimizer step. Returns the batch loss.
        `wb`: the batch's row weights (a table's weight column), or None."""
        self.lr = self.schedule.lr_at(self.step, self.epoch)
        pred = self.model.forward(xb, training=True)
        loss = self.loss.forward(pred, yb, wb)
        self.model.backward(self.loss.backward())
        loss += self._penalize()
        grad_norm = self._clip()
        if not (math.isfinite(loss) and math.isfinite(grad_norm)):
            self._diverge(loss, grad_norm, xb)  # the update is skipped: the weights stay finite
            return loss
        self.optimizer.step([self.model.flat_params], [self.model.flat_grads], self.lr)
        self._accumulate(pred, yb, loss, grad_norm)
        self.step += 1
        self.batch_in_epoch += 1
        return loss

    def end_epoch(self) -> dict:
        """Validation and the epoch's record (one line of metrics.jsonl)."""
        self.epoch += 1
        self.batch_in_epoch = 0
        sums = self.sums
        logs = {
            "epoch": self.epoch,
            "step": self.step,
            "lr": float(self.lr),
            "train_loss": sums.loss / sums.weight if sums.weight > 0 else sums.loss / max(sums.count, 1),
            "train_accuracy": sums.correct / max(sums.labels or sums.count, 1) if self.classification else None,
            "val_loss": None,
            "val_accuracy": None,
            "grad_norm": sums.grad_norm / max(sums.steps, 1),
        }
        if self.x_val is not None and len(self.x_val):
            scores = score_split(self.model, self.loss, self.x_val, self.y_val, self.classification, self.w_val)
            logs["val_loss"] = scores["loss"]
            logs["val_accuracy"] = scores.get("accuracy")
            logs.update({f"val_{k}": v for k, v in scores.items() if k not in ("loss", "accuracy")})
        logs["epoch_time_s"] = time.perf_counter() - self._epoch_started
        return logs

    # ---- the step's parts -----------------------------------------------------------------------
    def _penalize(self) -> float:
        reg = self.regularization
        if not (reg.l1 or reg.l2):
            return 0.0
        return add_penalties(self.model.flat_weights, self.model.flat_weight_grads, reg.l1, reg.l2)

    def _clip(self) -> float:
        """Clip as configured; return the global gradient norm before norm clipping."""
        grads, reg = self.model.flat_grads, self.regularization
        if reg.clip_value is not None:
            clip_by_value(grads, reg.clip_value)
        if reg.clip_norm is not None:
            self.last_grad_norm = float(clip_by_global_norm(grads, reg.clip_norm))
        else:
            self.last_grad_norm = float(global_norm(grads))
        return self.last_grad_norm

    def _accumulate(self, pred: np.ndarray, yb: np.ndarray, loss: float, grad_norm: float) -> None:
        n = len(yb)
        sums = self.sums
        sums.loss += loss * self.loss.batch_weight  # Σ w: the epoch's loss is the weighted mean over its rows
        sums.weight += self.loss.batch_weight
        sums.count += n
        sums.grad_norm += grad_norm
        sums.steps += 1
        if self.classification:
            sums.correct += int(np.count_nonzero(predicted_classes(pred) == yb))
            sums.labels += yb.size  # N, or N·L when every step of a sequence has a label

    def _diverge(self, loss: float, grad_norm: float, xb: np.ndarray) -> None:
        what = f"train loss is {loss}" if not math.isfinite(loss) else f"gradient norm is {grad_norm}"
        self.divergence = Divergence(
            epoch=self.epoch + 1, step=self.step + 1, what=what, layer=locate_nonfinite(self.model, xb)
        )
        self.request_stop(f"diverged at epoch {self.epoch + 1} step {self.step + 1}: {what}", "diverged")

    # ---- resumable state ------------------------------------------------------------------------
    def tensors(self) -> dict[str, np.ndarray]:
        """Everything a checkpoint holds as tensors: the model's and the optimizer's state."""
        tensors = {f"model.{k}": v for k, v in self.model.state_tensors().items()}
        tensors.update({f"optimizer.{k}": v for k, v in self.optimizer.state_dict().items()})
        return tensors

    def progress_state(self) -> dict:
        """The step-exact position: counters, epoch sums and every generator's state."""
        return {
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "step": self.step,
            "sums": vars(self.sums).copy(),
            "shuffle_state_at_epoch_start": self.shuffle_state_at_epoch_start,
            "shuffle_state": self.shuffle_rng.bit_generator.state,
            "model_rng_state": self.model_rng.bit_generator.state,
            "schedule": self.schedule.state_dict(),
        }

    def load(self, tensors: dict[str, np.ndarray], progress: dict) -> None:
        self.model.load_state_tensors({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        self.optimizer.load_state_dict({k[10:]: v for k, v in tensors.items() if k.startswith("optimizer.")})
        self.epoch, self.batch_in_epoch, self.step = progress["epoch"], progress["batch_in_epoch"], progress["step"]
        self.sums = EpochSums(**progress["sums"])
        self.shuffle_state_at_epoch_start = progress["shuffle_state_at_epoch_start"]
        self.shuffle_rng.bit_generator.state = progress["shuffle_state"]
        self.model_rng.bit_generator.state = progress["model_rng_state"]
        self.schedule.load_state_dict(progress["schedule"])
