"""Progress on stderr, as a training callback: a live rich display on a terminal, plain lines elsewhere."""

from __future__ import annotations

import sys
import time

from backprop_cli.cli.output import short_number
from backprop_cli.train.callbacks import Callback

REFRESH_S = 0.1  # batch-level updates are throttled: progress must cost well under 2% of an epoch
SHOWN = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr")


def make_progress(quiet: bool) -> Callback:
    """The null callback when quiet; the live display on a terminal; plain lines in a pipe or file."""
    if quiet:
        return Callback()
    return LiveProgress() if sys.stderr.isatty() else PlainLines()


def epoch_line(logs: dict, epochs: int) -> str:
    """`epoch=3/12 train_loss=0.1210 val_loss=0.1302 ... time=0.41s`: no control characters."""
    parts = [f"epoch={logs['epoch']}/{epochs}"]
    for key in SHOWN:
        value = logs.get(key)
        if value is not None:
            parts.append(f"{key}={value:.4g}" if key == "lr" else f"{key}={short_number(value)}")
    parts.append(f"time={logs.get('epoch_time_s', 0.0):.2f}s")
    return " ".join(parts)


class PlainLines(Callback):
    """One line per epoch and one per warning, flushed, for logs and CI."""

    def on_epoch_end(self, trainer, logs: dict) -> None:
        print(epoch_line(logs, trainer.epochs), file=sys.stderr, flush=True)
        for warning in logs.get("warnings") or []:
            print(f"warning: {warning}", file=sys.stderr, flush=True)

    def on_train_end(self, trainer) -> None:
        if trainer.stop_reason:
            print(f"stopped: {trainer.stop_reason}", file=sys.stderr, flush=True)


# A terminal's epoch table: (heading, key in the epoch record, width); a column shows when its key does.
EPOCH_COLUMNS = (
    ("train loss", "train_loss", 10),
    ("acc", "train_accuracy", 7),
    ("val loss", "val_loss", 10),
    ("acc", "val_accuracy", 7),
    ("lr", "lr", 9),
)


class EpochTable:
    """Finished epochs as rows of one table under one heading, so that a 70-column terminal keeps them
    aligned (the `key=value` line is for logs, where it never wraps)."""

    def __init__(self, epochs: int):
        self.epochs, self.columns = epochs, None

    def lines(self, logs: dict) -> list[str]:
        """The row of this epoch, after the heading when it is the first row."""
        out = []
        if self.columns is None:
            self.columns = [c for c in EPOCH_COLUMNS if logs.get(c[1]) is not None]
            cells = [f"{'epoch':>{self._epoch_width}}"] + [f"{head:>{width}}" for head, _, width in self.columns]
            out.append("  ".join(cells + [f"{'time':>7}"]))
        cells = [f"{logs['epoch']}/{self.epochs}".rjust(self._epoch_width)]
        for _, key, width in self.columns:
            value = logs.get(key)
            text = "—" if value is None else (f"{value:.3g}" if key == "lr" else short_number(value))
            cells.append(f"{text:>{width}}")
        out.append("  ".join(cells + [f"{logs.get('epoch_time_s', 0.0):>6.2f}s"]))
        return out

    @property
    def _epoch_width(self) -> int:
        return max(len("epoch"), 2 * len(str(self.epochs)) + 1)


class LiveProgress(Callback):
    """Epoch bar, batch bar with loss and throughput, ETA; each finished epoch printed above the bars."""

    def on_train_begin(self, trainer) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=self.console,
            transient=True,
        )
        self.table = EpochTable(trainer.epochs)
        self.epochs = self.progress.add_task("epochs", total=trainer.epochs, completed=trainer.epoch, info="")
        self.batches = self.progress.add_task("batches", total=len(trainer.loader), info="")
        self.progress.start()
        self._last = 0.0

    def on_epoch_begin(self, trainer) -> None:
        self._epoch_start, self._start_batch = time.perf_counter(), trainer.batch_in_epoch
        # reset, not update: the ETA is estimated from this epoch's batches only, not from last epoch's end
        self.progress.reset(self.batches, completed=trainer.batch_in_epoch, description=f"epoch {trainer.epoch + 1}")

    def on_batch_end(self, trainer, loss: float) -> None:
        now = time.perf_counter()
        if now - self._last < REFRESH_S:
            return
        self._last = now
        done = trainer.batch_in_epoch - self._start_batch
        rate = done * trainer.loader.batch_size / max(now - self._epoch_start, 1e-9)
        self.progress.update(
            self.batches, completed=trainer.batch_in_epoch, info=f"loss {short_number(loss)}  {rate:,.0f} samples/s"
        )

    def on_epoch_end(self, trainer, logs: dict) -> None:
        self.progress.update(self.epochs, completed=trainer.epoch)
        for line in self.table.lines(logs):
            self.console.print(line, highlight=False, overflow="ignore", crop=False)
        for warning in logs.get("warnings") or []:
            self.console.print(f"[yellow]warning:[/] {warning}", highlight=False)

    def on_train_end(self, trainer) -> None:
        self.progress.stop()
        if trainer.stop_reason:
            self.console.print(f"stopped: {trainer.stop_reason}", highlight=False)

    def on_exception(self, trainer, error: BaseException) -> None:
        self.progress.stop()
