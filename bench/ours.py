"""backprop's side: the experiment YAML for `backprop train`, and the same run through the library API."""

from __future__ import annotations

import time

from bench.workloads import DIGITS, MLPWorkload


def mlp_config(w: MLPWorkload, epochs: int, threads: int) -> str:
    """The workload as a backprop config: all 60000 rows trained on, the 10000 test rows scored at the end."""
    if w.optimizer == "adam":
        optimizer = f"{{type: adam, lr: {w.lr}}}"
    else:
        optimizer = f"{{type: momentum, lr: {w.lr}, momentum: {w.momentum}}}"
    dense = "\n".join(f"    - {{type: dense, units: {u}, activation: relu}}" for u in w.hidden)
    return f"""\
name: bench-{w.key}
seed: 0
data: {{dataset: mnist, validation_split: 0.0, scale: none}}
model:
  layers:
    - {{type: flatten}}
{dense}
    - {{type: dense, units: 10}}
loss: cross_entropy
optimizer: {optimizer}
schedule: {{type: constant}}
training: {{epochs: {epochs}, batch_size: {w.batch}, threads: {threads}}}
"""


def digits_config(threads: int) -> str:
    dense = "\n".join(f"    - {{type: dense, units: {u}, activation: relu}}" for u in DIGITS["hidden"])
    return f"""\
name: bench-digits
seed: 0
data: {{dataset: digits, validation_split: 0.0}}
model:
  layers:
{dense}
    - {{type: dense, units: 10}}
loss: cross_entropy
optimizer: {{type: adam, lr: {DIGITS["lr"]}}}
training: {{epochs: {DIGITS["epochs"]}, batch_size: {DIGITS["batch"]}, threads: {threads}}}
"""


def run_library(w: MLPWorkload, epochs: int, threads: int) -> dict:
    """The same run through the library: build_parts + fit, no run directory, no progress output."""
    import yaml

    from backprop_cli.config.load import config_from_dict
    from backprop_cli.train.callbacks import Callback, CallbackList
    from backprop_cli.train.evaluate import score_split
    from backprop_cli.train.loop import fit
    from backprop_cli.train.setup import build_parts

    class EpochTimes(Callback):
        def __init__(self):
            self.times: list[float] = []

        def on_epoch_end(self, trainer, logs):
            self.times.append(logs["epoch_time_s"])

    started = time.perf_counter()
    config = config_from_dict(yaml.safe_load(mlp_config(w, epochs, threads)), source="bench")
    parts = build_parts(config)
    parts.trainer.optimizer.threads = threads
    timer = EpochTimes()
    fit_started = time.perf_counter()
    fit(parts.trainer, CallbackList([timer]))
    fit_s = time.perf_counter() - fit_started
    data = parts.data
    test = score_split(parts.model, parts.loss, data.x_test, data.y_test, classification=True)
    return {
        "epoch_times": timer.times,
        "fit_s": fit_s,
        "test_accuracy": test["accuracy"],
        "setup_s": fit_started - started,
        "dtype": str(parts.model.dtype),
    }
