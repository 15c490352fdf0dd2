"""What the activation histograms cost an epoch: `python -m bench.histograms [--epochs 3] [--every N]`.

MNIST MLP (configs/mnist-mlp.yaml, full data, 2 BLAS threads) trained in this process with the gradient
monitor and the histogram log on, as `backprop train` runs them. The histogram log's own time is timed
inside it — its hooks and every histogram the taps compute during a sampled step — and so is the gradient
monitor's (its statistics), and each is set against the epoch's time (CPU seconds of this process,
so that other processes on a shared host change both alike).
Epoch 1 (warm-up, compiling) is left out. With --every N the monitor also samples every N-th step.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from bench.common import ROOT, THREAD_VARS, THREADS, data_dir


def _timed(target, name: str, spent: list[float]) -> None:
    """Wrap target.name so that the CPU time spent inside it adds to spent[0]."""
    original = getattr(target, name)

    def timed(*args, **kwargs):
        start = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.process_time() - start

    setattr(target, name, timed)


def _epoch_clock(Callback, spent: list[float], monitor_spent: list[float]):
    """A callback noting each epoch's CPU seconds and the histogram and monitor time inside it."""

    class EpochClock(Callback):
        epochs: list = []

        def on_epoch_begin(self, trainer) -> None:
            self._start, self._spent, self._monitor = time.process_time(), spent[0], monitor_spent[0]

        def on_epoch_end(self, trainer, logs) -> None:
            epoch = time.process_time() - self._start
            self.epochs.append((epoch, spent[0] - self._spent, monitor_spent[0] - self._monitor))

    return EpochClock()


def measure(epochs: int, every: int | None) -> list[tuple[float, float, float]]:
    from backprop_cli.config.load import load_config
    from backprop_cli.diagnostics import histograms
    from backprop_cli.train import histogram_log, monitor
    from backprop_cli.train.callbacks import Callback
    from backprop_cli.train.session import RunOptions, run_training

    spent, monitor_spent = [0.0], [0.0]
    _timed(histograms, "histogram", spent)  # the taps' work during a sampled step
    for hook in ("on_train_begin", "on_epoch_begin", "on_batch_end"):  # arming, disarming, writing a line
        _timed(histogram_log.HistogramLog, hook, spent)
    for hook in ("on_epoch_begin", "on_batch_end", "on_epoch_end"):
        _timed(monitor.GradientMonitor, hook, monitor_spent)
    clock = _epoch_clock(Callback, spent, monitor_spent)
    overrides = [f"training.epochs={epochs}"] + ([f"diagnostics.monitor_every_n_steps={every}"] if every else [])
    config = load_config(ROOT / "configs" / "mnist-mlp.yaml", overrides).config
    with tempfile.TemporaryDirectory() as tmp:
        run_training(config, RunOptions(runs_dir=tmp, threads=THREADS, extra_callbacks=[clock]))
    return clock.epochs[1:]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.histograms", description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--every", type=int, default=None, help="also sample every N-th step")
    args = parser.parse_args()
    os.environ.update({var: str(THREADS) for var in THREAD_VARS})
    os.environ["BACKPROP_DATA_DIR"] = str(data_dir())
    rows = measure(args.epochs, args.every)
    print(f"load average {os.getloadavg()[0]:.1f}; MNIST MLP, {THREADS} threads, monitor every "
          f"{args.every or 'epoch'}")  # fmt: skip
    for i, (epoch, spent, stats) in enumerate(rows, start=2):
        print(
            f"epoch {i}: {epoch:.2f} CPU s; histograms {1000 * spent:.1f} ms = {100 * spent / epoch:.3f}%; "
            f"with the monitor's statistics {1000 * (spent + stats):.1f} ms = {100 * (spent + stats) / epoch:.3f}%"
        )
    share = statistics.median(spent / epoch for epoch, spent, _ in rows)
    whole = statistics.median((spent + stats) / epoch for epoch, spent, stats in rows)
    print(
        f"median share of an epoch: histograms {100 * share:.3f}%, the monitor with them {100 * whole:.3f}% (budget 2%)"
    )


if __name__ == "__main__":
    main()
