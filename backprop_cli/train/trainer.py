"""One run's moving parts and progress. The trainer knows layers, losses and optimizers only by contract."""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
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
    micro_batch: int | None = None  # accumulation: the loader's batch is split into micro-batches of this size
    ema: object | None = None  # a WeightAverage of the flat parameters (optim/ema.py), updated after each step
    augment: object | None = None  # (x, rng) -> x for training batches (data/augment.py)
    augment_rng: np.random.Generator | None = None

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
        self._grad_sum: np.ndarray | None = None  # accumulation's running sum of micro-batch gradients

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

    def train_step(self, xb: np.ndarray, yb: np.ndarray) -> float:
        """augmentation, forward, loss, backward, penalties, clipping, one optimizer step, the weight
        average. Returns the batch loss."""
        self.lr = self.schedule.lr_at(self.step, self.epoch)
        if self.augment is not None:
            xb = self.augment(xb, self.augment_rng)
        loss, correct = self._gradients(xb, yb)
        loss += self._penalize()
        grad_norm = self._clip()
        if not (math.isfinite(loss) and math.isfinite(grad_norm)):
            self._diverge(loss, grad_norm, xb)  # the update is skipped: the weights stay finite
            return loss
        self.optimizer.step([self.model.flat_params], [self.model.flat_grads], self.lr)
        if self.ema is not None:
            self.ema.update(self.model.flat_params)
        self._accumulate(yb, loss, grad_norm, correct)
        self.step += 1
        self.batch_in_epoch += 1
        return loss

    def _gradients(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, int]:
        """The batch-mean loss and its gradient in flat_grads; with accumulation, the batch is taken in
        micro-batches whose gradients are summed, each weighted by its share of the rows, so the result is
        the whole batch's mean (batchnorm aside: it normalizes each micro-batch by its own statistics)."""
        micro = self.micro_batch or len(xb)
        if len(xb) <= micro:
            return self._forward_backward(xb, yb)
        grads, n = self.model.flat_grads, len(xb)
        if self._grad_sum is None:
            self._grad_sum = np.empty_like(grads)
        loss, correct = 0.0, 0
        for start in range(0, n, micro):
            part_loss, part_correct = self._forward_backward(xb[start : start + micro], yb[start : start + micro])
            share = len(xb[start : start + micro]) / n
            grads *= grads.dtype.type(share)
            if start == 0:
                self._grad_sum[...] = grads
            else:
                self._grad_sum += grads
            loss += part_loss * share
            correct += part_correct
        grads[...] = self._grad_sum
        return loss, correct

    def _forward_backward(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, int]:
        pred = self.model.forward(xb, training=True)
        loss = self.loss.forward(pred, yb)
        self.model.backward(self.loss.backward())
        correct = int(np.count_nonzero(predicted_classes(pred) == yb)) if self.classification else 0
        return loss, correct

    def end_epoch(self) -> dict:
        """Validation and the epoch's record (one line of metrics.jsonl)."""
        self.epoch += 1
        self.batch_in_epoch = 0
        sums = self.sums
        logs = {
            "epoch": self.epoch,
            "step": self.step,
            "lr": float(self.lr),
            "train_loss": sums.loss / max(sums.count, 1),
            "train_accuracy": sums.correct / max(sums.labels or sums.count, 1) if self.classification else None,
            "val_loss": None,
            "val_accuracy": None,
            "grad_norm": sums.grad_norm / max(sums.steps, 1),
        }
        if self.x_val is not None and len(self.x_val):
            with self.averaged_weights():
                scores = score_split(self.model, self.loss, self.x_val, self.y_val, self.classification)
            logs["val_loss"] = scores["loss"]
            logs["val_accuracy"] = scores.get("accuracy")
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

    def _accumulate(self, yb: np.ndarray, loss: float, grad_norm: float, correct: int) -> None:
        n = len(yb)
        sums = self.sums
        sums.loss += loss * n
        sums.count += n
        sums.grad_norm += grad_norm
        sums.steps += 1
        if self.classification:
            sums.correct += correct
            sums.labels += yb.size  # N, or N·L when every step of a sequence has a label

    # ---- the weight average ---------------------------------------------------------------------
    def averaged_weights(self):
        """A block in which the model runs on the weight average (with EMA on; else on its own weights)."""
        return nullcontext() if self.ema is None else self.ema.swapped_into(self.model.flat_params)

    def kept_weights(self) -> dict[str, np.ndarray]:
        """Copies of the tensors a run keeps as its result: the model's, with the average's weights if on."""
        kept = {k: v.copy() for k, v in self.model.state_tensors().items()}
        kept.update({k: v.copy() for k, v in self._ema_tensors().items()})
        return kept

    def _ema_tensors(self) -> dict[str, np.ndarray]:
        if self.ema is None:
            return {}
        shapes = {name: p.shape for name, p, _ in self.model.named_params()}
        return self.ema.tensors(self.model.param_slices, shapes)

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
        tensors.update({f"ema.{k}": v for k, v in self._ema_tensors().items()})
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
            **({"augment_state": self.augment_rng.bit_generator.state} if self.augment_rng is not None else {}),
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
        if self.augment_rng is not None:
            self.augment_rng.bit_generator.state = progress["augment_state"]
        if self.ema is not None:
            self.ema.load_tensors(
                {k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}, self.model.param_slices
            )
