"""The callback contract: everything optional in training hooks into the loop's events."""

from __future__ import annotations

from typing import Any


class Callback:
    """Every hook does nothing: a callback overrides the ones it needs (and this is the null object).

    `state_dict`/`load_state_dict` carry what a callback must remember across a resume.
    """

    name = "callback"

    def on_train_begin(self, trainer) -> None: ...

    def on_epoch_begin(self, trainer) -> None: ...

    def on_batch_end(self, trainer, loss: float) -> None: ...

    def on_epoch_end(self, trainer, logs: dict[str, Any]) -> None: ...

    def on_train_end(self, trainer) -> None: ...

    def on_exception(self, trainer, error: BaseException) -> None: ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...


class CallbackList(Callback):
    """Fans each event out to its callbacks, in order."""

    def __init__(self, callbacks: list[Callback]):
        self.callbacks = list(callbacks)

    def on_train_begin(self, trainer) -> None:
        for cb in self.callbacks:
            cb.on_train_begin(trainer)

    def on_epoch_begin(self, trainer) -> None:
        for cb in self.callbacks:
            cb.on_epoch_begin(trainer)

    def on_batch_end(self, trainer, loss: float) -> None:
        for cb in self.callbacks:
            cb.on_batch_end(trainer, loss)

    def on_epoch_end(self, trainer, logs: dict[str, Any]) -> None:
        for cb in self.callbacks:
            cb.on_epoch_end(trainer, logs)

    def on_train_end(self, trainer) -> None:
        for cb in self.callbacks:
            cb.on_train_end(trainer)

    def on_exception(self, trainer, error: BaseException) -> None:
        for cb in self.callbacks:
            cb.on_exception(trainer, error)

    def state_dict(self) -> dict:
        return {cb.name: cb.state_dict() for cb in self.callbacks if cb.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        for cb in self.callbacks:
            if cb.name in state:
                cb.load_state_dict(state[cb.name])
