"""Where one epoch of workload 1 (or 7, `--workload cnn`) goes, through the real `backprop train` path (run
directory, checkpoints, progress lines): `python -m bench.profile_epoch [--epochs 4] [--batch 128] [--workload cnn]`.

With `--workload cnn`, forward and backward are also split by layer (indented rows, inside forward and
backward), each with the GFLOP/s of its matmuls for the conv and dense layers.

Each part of the step is wrapped with a timer (a wrapper costs well under a microsecond). The host is
shared, so the steps are cut into windows of --window steps, and a window during which other processes
used more than 10% of a core (/proc/stat busy time less our own CPU time) is left out: the per-step
parts are the mean over the clean windows, times the epoch's steps. The once-per-epoch parts
(validation, checkpoints) are the median over epochs 2..E. "loop, rest" is the time not inside any
wrapped part: the loop itself, the train_step frame, the divergence check. Epoch 1 (warm-up, compiling)
is left out.
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

from bench.ab import _host_busy
from bench.common import THREAD_VARS, THREADS, data_dir

CALLBACK_PARTS = {"PlainLines": "progress", "LiveProgress": "progress", "Checkpointer": "checkpointer, rest"}
STEP_PARTS = (
    "gather",
    "lr",
    "forward",
    "loss",
    "backward",
    "clip/penalties",
    "optimizer",
    "accumulate",
    "progress",
    "other callbacks",
)
EPOCH_PARTS = (
    "end_epoch (validation)",
    "metrics.jsonl line (fsync)",
    "checkpoint files (fsync)",
    "summary.json",
    "checkpointer, rest",
)
DIRTY = 0.1  # cores used by other processes during a window that spoil it (/proc/stat counts in 10 ms ticks)


class Clock:
    def __init__(self, window: int, dirty: float = DIRTY):
        self.window, self.dirty_cores = window, dirty
        self.layer_parts: list[tuple[str, float]] = []  # (part, FLOPs per step) of each layer's pass
        self.spent: dict[str, float] = defaultdict(float)
        self.windows: list[dict] = []  # clean windows: part -> seconds, plus "wall" and "steps"
        self.epoch_parts: list[dict] = []
        self.dirty = 0
        self.open_window()

    def open_window(self) -> None:
        self.spent = defaultdict(float)
        self.steps, self.t0, self.cpu0, self.busy0 = 0, time.perf_counter(), time.process_time(), _host_busy()

    def close_window(self) -> None:
        wall = time.perf_counter() - self.t0
        others = max(_host_busy() - self.busy0 - (time.process_time() - self.cpu0), 0.0) / wall
        if others <= self.dirty_cores:
            self.windows.append({**self.spent, "wall": wall, "steps": self.steps})
        else:
            self.dirty += 1
        self.open_window()

    def step_done(self) -> None:
        self.steps += 1
        if self.steps == self.window:
            self.close_window()

    def wrap(self, part: str, fn):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[part] += time.perf_counter() - started

        return timed

    def wrap_iter(self, part: str, make_iter):
        def timed(*args, **kwargs):
            it = make_iter(*args, **kwargs)
            while True:
                started = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    return
                finally:
                    self.spent[part] += time.perf_counter() - started
                yield item

        return timed


def layer_flops(layer, x_shape: tuple[int, ...], y_shape: tuple[int, ...], n: int) -> tuple[float, float]:
    """(forward, backward) matmul FLOPs of a conv2d or dense layer at batch n; (0, 0) for the others."""
    if "W" not in layer.params:
        return 0.0, 0.0
    w = layer.params["W"]
    fan_in = w[0].size if w.ndim == 4 else w.shape[0]  # C*k*k or the dense fan-in
    outputs = n * (y_shape[1] * y_shape[2] if len(y_shape) == 3 else 1) * (w.shape[0] if w.ndim == 4 else w.shape[1])
    forward = 2.0 * outputs * fan_in
    return forward, forward * (2 if getattr(layer, "input_grad", True) else 1)


def instrument_layers(model, batch: int, clock: Clock) -> None:
    """Each top-level layer's forward and backward on a line of its own (inside `forward`/`backward`)."""
    from backprop_cli.nn.model import describe

    shapes = [model.input_shape, *model.output_shapes]
    for i, layer in enumerate(model.layers):
        fwd, bwd = layer_flops(layer, shapes[i], shapes[i + 1], batch)
        for kind, flops in (("forward", fwd), ("backward", bwd)):
            part = f"  {i} {describe(layer)} {kind}"
            clock.layer_parts.append((part, flops))
            setattr(layer, kind, clock.wrap(part, getattr(layer, kind)))


def instrument(trainer, callbacks, clock: Clock) -> None:
    model, loss = trainer.model, trainer.loss
    if clock.layer_parts == []:
        instrument_layers(model, trainer.loader.batch_size, clock)
    trainer.loader.batches = clock.wrap_iter("gather", trainer.loader.batches)
    trainer.schedule.lr_at = clock.wrap("lr", trainer.schedule.lr_at)
    model.forward = clock.wrap("forward", model.forward)
    loss.forward = clock.wrap("loss", loss.forward)
    loss.backward = clock.wrap("loss", loss.backward)
    model.backward = clock.wrap("backward", model.backward)
    trainer._penalize = clock.wrap("clip/penalties", trainer._penalize)
    trainer._clip = clock.wrap("clip/penalties", trainer._clip)
    trainer.optimizer.step = clock.wrap("optimizer", trainer.optimizer.step)
    trainer._accumulate = clock.wrap("accumulate", trainer._accumulate)
    trainer.end_epoch = clock.wrap("end_epoch (validation)", trainer.end_epoch)
    for cb in callbacks.callbacks:  # each callback on its own line: progress, checkpointing, ...
        kind = CALLBACK_PARTS.get(type(cb).__name__, "other callbacks")
        cb.on_batch_end = clock.wrap(kind, cb.on_batch_end)
        cb.on_epoch_end = clock.wrap(kind, cb.on_epoch_end)
    begin, batch_end, epoch_end = callbacks.on_epoch_begin, callbacks.on_batch_end, callbacks.on_epoch_end

    def on_epoch_begin(t):
        begin(t)
        clock.open_window()  # windows never span an epoch's end

    def on_batch_end(t, value):
        batch_end(t, value)
        if t.epoch >= 1:  # epochs 2..E only: the first pays for warm-up (threads, pages, numba's compile)
            clock.step_done()

    def on_epoch_end(t, logs):
        before = {part: clock.spent.get(part, 0.0) for part in EPOCH_PARTS}
        epoch_end(t, logs)
        clock.epoch_parts.append({part: clock.spent.get(part, 0.0) - before[part] for part in EPOCH_PARTS})
        clock.epoch_parts[-1]["steps"] = t.step // t.epoch
        clock.epoch_parts[-1]["epoch_time_s"] = logs["epoch_time_s"]

    callbacks.on_epoch_begin, callbacks.on_batch_end, callbacks.on_epoch_end = (
        on_epoch_begin,
        on_batch_end,
        on_epoch_end,
    )


def instrument_writes(clock: Clock) -> None:
    """The checkpointer's writes, each on its own line: the metrics line apart from the checkpoints."""
    from backprop_cli.train import checkpointing, session

    checkpointing.append_metrics = clock.wrap("metrics.jsonl line (fsync)", checkpointing.append_metrics)
    checkpointing.save_checkpoint = clock.wrap("checkpoint files (fsync)", checkpointing.save_checkpoint)
    session.write_summary = clock.wrap("summary.json", session.write_summary)


def profile(epochs: int, batch: int, window: int, workload: str = "mlp-adam", dirty: float = DIRTY) -> Clock:
    from backprop_cli.cli.progress import PlainLines
    from backprop_cli.config.load import load_config
    from backprop_cli.train import session
    from backprop_cli.train.loop import fit
    from bench import cnn
    from bench.ours import mlp_config
    from bench.workloads import MLP_WORKLOADS

    clock = Clock(window, dirty)
    instrument_writes(clock)

    def timed_fit(trainer, callbacks):
        instrument(trainer, callbacks, clock)
        fit(trainer, callbacks)

    session.fit = timed_fit
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "w1.yaml"
        if workload == cnn.KEY:
            text = cnn.config(epochs, THREADS, batch)
        else:
            w = MLP_WORKLOADS[workload]
            text = mlp_config(w, epochs, THREADS).replace(f"batch_size: {w.batch}", f"batch_size: {batch}")
        config_path.write_text(text)
        options = session.RunOptions(runs_dir=tmp, threads=THREADS, extra_callbacks=[PlainLines()])
        session.run_training(load_config(config_path).config, options)
    return clock


def table(clock: Clock) -> str:
    windows = clock.windows
    later = clock.epoch_parts[1:] or clock.epoch_parts
    steps = later[0]["steps"]
    if not windows:
        return "no clean window: the host was busy all along; try again, or with more --epochs"
    n_steps = sum(w["steps"] for w in windows)
    per_step = {part: sum(w.get(part, 0.0) for w in windows) / n_steps for part in STEP_PARTS}
    step_wall = sum(w["wall"] for w in windows) / n_steps
    epoch_parts = {part: statistics.median(e[part] for e in later) for part in EPOCH_PARTS}
    writes = sum(epoch_parts[part] for part in EPOCH_PARTS[1:4])
    epoch_parts["checkpointer, rest"] = max(epoch_parts["checkpointer, rest"] - writes, 0.0)  # it contains them
    total = step_wall * steps + sum(epoch_parts.values())
    raw = statistics.median(e["epoch_time_s"] for e in later)
    lines = [
        f"clean windows: {len(windows)} of {len(windows) + clock.dirty} ({n_steps} steps); "
        f"{1e3 * step_wall:.3f} ms/step there, so an epoch of {steps} steps is {total:.3f} s with its "
        f"end-of-epoch work (the epochs as timed, noise and all: median {raw:.3f} s)",
        "",
        "| part | ms/epoch | ms/step | share |",
        "|---|---|---|---|",
    ]
    accounted = 0.0
    for part in STEP_PARTS:
        ms = 1e3 * per_step[part] * steps
        accounted += ms
        lines.append(f"| {part} | {ms:.1f} | {ms / steps:.4f} | {ms / 10 / total:.1f}% |")
    for part, flops in clock.layer_parts:  # inside forward/backward above: not added again
        per = sum(w.get(part, 0.0) for w in windows) / n_steps
        rate = f", {flops / per / 1e9:.0f} GFLOP/s" if flops and per else ""
        lines.append(f"| {part} | {1e3 * per * steps:.1f} | {1e3 * per:.4f}{rate} | {100 * per * steps / total:.1f}% |")
    for part in EPOCH_PARTS:
        ms = 1e3 * epoch_parts[part]
        accounted += ms
        lines.append(f"| {part} (once per epoch) | {ms:.1f} | {ms / steps:.4f} | {ms / 10 / total:.1f}% |")
    rest = 1e3 * total - accounted
    lines.append(f"| loop, rest | {rest:.1f} | {rest / steps:.4f} | {rest / 10 / total:.1f}% |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_epoch")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--window", type=int, default=50, help="steps per noise window")
    parser.add_argument("--workload", default="mlp-adam", help="mlp-adam, mlp-sgd, mlp-adam-b32 or cnn")
    parser.add_argument("--dirty", type=float, default=DIRTY, help="others' CPU (cores) that spoils a window")
    args = parser.parse_args()
    print(table(profile(args.epochs, args.batch, args.window, args.workload, args.dirty)))


if __name__ == "__main__":
    for var in THREAD_VARS:  # before NumPy's first import, as `backprop train --threads 2` does
        os.environ.setdefault(var, str(THREADS))
    os.environ.setdefault("BACKPROP_DATA_DIR", str(data_dir()))
    sys.exit(main())
