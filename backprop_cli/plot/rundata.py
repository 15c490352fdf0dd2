"""What the pictures of one run are drawn from: its trained model, its data as the model saw it, and the
scores of one split (test if the run has one, else validation, else training)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from backprop_cli.errors import UserError
from backprop_cli.inference import Trained, load_trained
from backprop_cli.runs.listing import Run
from backprop_cli.runs.rundir import RunFiles


@dataclass
class RunView:
    """A run opened for pictures; the model and data are loaded on first use."""

    run: Run

    @property
    def path(self) -> Path:
        return self.run.path

    @property
    def files(self) -> RunFiles:
        return RunFiles(self.run.path)

    @cached_property
    def trained(self) -> Trained:
        """The run's best checkpoint (else its last): the weights a picture shows unless told otherwise."""
        if not (self.files.best.is_file() or self.files.last.is_file()):
            raise UserError(f"{self.run.dir_name} has no checkpoint yet", where=str(self.path),
                            fix="draw it once an epoch has finished")  # fmt: skip
        return load_trained(self.path)

    @property
    def meta(self) -> dict:
        return self.trained.data_meta

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.meta["input_shape"])

    @property
    def classification(self) -> bool:
        return self.trained.classification

    @property
    def class_names(self) -> list[str]:
        return [str(name) for name in self.meta.get("class_names") or []]

    @cached_property
    def data(self):
        """The run's data, split and scaled exactly as in training."""
        from backprop_cli.data import load_data

        config = self.trained.config
        return load_data(config.data, config.seed, self.trained.dtype, meta=self.meta)

    @cached_property
    def scored_split(self) -> tuple[str, np.ndarray, np.ndarray]:
        """(name, x, y) of the split the classification pictures score: test, else val, else train."""
        data = self.data
        for name, x, y in (("test", data.x_test, data.y_test), ("validation", data.x_val, data.y_val)):
            if x is not None and len(x):
                return name, x, y
        return "training", data.x_train, data.y_train

    @cached_property
    def scores(self) -> tuple[np.ndarray, np.ndarray]:
        """(labels (M,), class probabilities (M, K)) on the scored split; the steps of a sequence are rows."""
        from backprop_cli.train.evaluate import predict_raw

        _, x, y = self.scored_split
        probabilities = self.trained.loss.link(predict_raw(self.trained.model, x))  # (N, K) or (N, K, L)
        if probabilities.ndim == 3:
            probabilities = probabilities.transpose(0, 2, 1).reshape(-1, probabilities.shape[1])
        return np.asarray(y).reshape(-1), np.asarray(probabilities, dtype=np.float64)
