"""Where one epoch of workload 1 goes, through the real `backprop train` path (run directory, checkpoints,
progress lines): `python -m bench.profile_epoch [--epochs 3] [--batch 128]`.

Each part of the step is wrapped with a timer (a wrapper costs well under a microsecond); the table
shows epoch 2..E's medians. "loop, rest" is the epoch's time not inside any wrapped part: the loop
itself, the train_step frame, divergence checks.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.common import THREAD_VARS, THREADS, data_dir

CALLBACK_PARTS = {
    "PlainLines": "progress",
    "LiveProgress": "progress",
    "Checkpointer": "checkpointer: metrics.jsonl + checkpoints (fsync)",
}
PARTS = (
    "gather",
    "lr",
    "forward",
    "loss",
    "backward",
    "clip/penalties",
    "optimizer",
    "accumulate",
    "end_epoch (validation)",
    "progress",
    "checkpointer: metrics.jsonl + checkpoints (fsync)",
    "other callbacks",
)


class Clock:
    def __init__(self):
        self.spent = defaultdict(float)

    def wrap(self, part: str, fn):
        spent = self.spent

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[part] += time.perf_counter() - started

        return timed

    def wrap_iter(self, part: str, make_iter):
        spent = self.spent

        def timed(*args, **kwargs):
            it = make_iter(*args, **kwargs)
            while True:
                started = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    return
                finally:
                    spent[part] += time.perf_counter() - started
                yield item

        return timed


def instrument(trainer, callbacks, clock: Clock, epochs: list[dict]) -> None:
    loader, loss = trainer.loader, trainer.loss
    loader.batches = clock.wrap_iter("gather", loader.batches)
    trainer.schedule.lr_at = clock.wrap("lr", trainer.schedule.lr_at)
    trainer.model.forward = clock.wrap("forward", trainer.model.forward)
    loss.forward = clock.wrap("loss", loss.forward)
    loss.backward = clock.wrap("loss", loss.backward)
    trainer.model.backward = clock.wrap("backward", trainer.model.backward)
    trainer._penalize = clock.wrap("clip/penalties", trainer._penalize)
    trainer._clip = clock.wrap("clip/penalties", trainer._clip)
    trainer.optimizer.step = clock.wrap("optimizer", trainer.optimizer.step)
    trainer._accumulate = clock.wrap("accumulate", trainer._accumulate)
    trainer.end_epoch = clock.wrap("end_epoch (validation)", trainer.end_epoch)
    for cb in callbacks.callbacks:  # each callback on its own line: progress, checkpointing, ...
        kind = CALLBACK_PARTS.get(type(cb).__name__, "other callbacks")
        cb.on_batch_end = clock.wrap(kind, cb.on_batch_end)
        cb.on_epoch_end = clock.wrap(kind, cb.on_epoch_end)
    begin, end = callbacks.on_epoch_begin, callbacks.on_epoch_end

    def on_epoch_begin(t):
        clock.spent.clear()
        clock.started, clock.first_step = time.perf_counter(), t.step
        begin(t)

    def on_epoch_end(t, logs):
        end(t, logs)
        epochs.append({**clock.spent, "total": time.perf_counter() - clock.started, "steps": t.step - clock.first_step})

    callbacks.on_epoch_begin, callbacks.on_epoch_end = on_epoch_begin, on_epoch_end


def profile(epochs: int, batch: int) -> list[dict]:
    from backprop_cli.cli.progress import PlainLines
    from backprop_cli.config import load_config
    from backprop_cli.train import session
    from backprop_cli.train.loop import fit
    from bench.ours import mlp_config
    from bench.workloads import MLP_WORKLOADS

    records: list[dict] = []
    clock = Clock()

    def timed_fit(trainer, callbacks):
        instrument(trainer, callbacks, clock, records)
        fit(trainer, callbacks)

    session.fit = timed_fit
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "w1.yaml"
        w = MLP_WORKLOADS["mlp-adam"]
        config_path.write_text(mlp_config(w, epochs, THREADS).replace(f"batch_size: {w.batch}", f"batch_size: {batch}"))
        options = session.RunOptions(runs_dir=tmp, threads=THREADS, extra_callbacks=[PlainLines()])
        session.run_training(load_config(config_path).config, options)
    return records


def table(records: list[dict]) -> str:
    later = records[1:] or records
    total = statistics.median(r["total"] for r in later)
    steps = later[0]["steps"]
    lines = [
        f"epoch {total:.3f} s (median of epochs 2..{len(records)}), {steps} steps, {1e3 * total / steps:.3f} ms/step",
        "",
        "| part | ms/epoch | ms/step | share |",
        "|---|---|---|---|",
    ]
    accounted = 0.0
    for part in PARTS:
        ms = 1e3 * statistics.median(r.get(part, 0.0) for r in later)
        accounted += ms
        lines.append(f"| {part} | {ms:.1f} | {ms / steps:.4f} | {ms / 10 / total:.1f}% |")
    rest = 1e3 * total - accounted
    lines.append(f"| loop, rest | {rest:.1f} | {rest / steps:.4f} | {rest / 10 / total:.1f}% |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_epoch")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    print(table(profile(args.epochs, args.batch)))


if __name__ == "__main__":
    for var in THREAD_VARS:  # before NumPy's first import, as `backprop train --threads 2` does
        os.environ.setdefault(var, str(THREADS))
    os.environ.setdefault("BACKPROP_DATA_DIR", str(data_dir()))
    sys.exit(main())
