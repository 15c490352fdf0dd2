"""Early stopping: stop when the monitored metric has not improved for `patience` epochs."""

from __future__ import annotations

from backprop_cli.train.callbacks import Callback
from backprop_cli.train.improvement import Improvement


class EarlyStopping(Callback):
    name = "early_stopping"

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", patience: int = 5, min_delta: float = 0.0):
        self.tracker = Improvement(monitor, mode, min_delta)
        self.patience = patience
        self.wait = 0

    def on_epoch_end(self, trainer, logs: dict) -> None:
        if self.tracker.update(logs.get(self.tracker.monitor), logs["epoch"]):
            self.wait = 0
            return
        self.wait += 1
        if self.wait >= self.patience and logs["epoch"] < trainer.epochs:  # the last epoch ends the run anyway:
            # it is then `completed`, not early_stopped (the best weights are still restored)
            trainer.request_stop(
                f"{self.tracker.monitor} has not improved for {self.wait} epochs "
                f"(best {self.tracker.best:.6g} at epoch {self.tracker.best_epoch})",
                "early_stopped",
            )

    def state_dict(self) -> dict:
        return {"wait": self.wait, **self.tracker.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.wait = state["wait"]
        self.tracker.load_state_dict(state)
