"""What augmentation costs per epoch of the MNIST CNN, against the epoch's training steps.

    python -m bench.augment_cost                 # every transform alone and configs/mnist-cnn-augment.yaml's list
    python -m bench.augment_cost --steps 30      # more training steps sampled (the epoch is extrapolated)
    python -m bench.augment_cost --threads 1     # on a loaded host: no BLAS thread spinning in the CPU time

The augmentation of a whole epoch is timed for real (422 batches of 128 images); the epoch's training steps
are sampled (`--steps` batches, with augmentation off) and scaled to the epoch, interleaved with the
augmentation timings. Both are measured in CPU seconds of this process (all its threads), which a busy host
does not inflate the way it inflates wall time. Prints one row per transform: CPU seconds per epoch and the
share of the epoch's steps. Two threads by default, as bench/README.md measures the CNN. On a busy host the
spinning of BLAS threads that wait for a core counts as CPU time and inflates the steps; one thread does not
spin. The augmentation runs on the main thread alone, so with two threads its share of the wall time is up
to twice its share of the CPU time.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np

from bench.common import ROOT

TRANSFORMS = {
    "shift 2": [{"type": "shift", "max": 2}],
    "crop 4": [{"type": "crop", "pad": 4}],
    "flip": [{"type": "flip", "axis": "horizontal", "p": 0.5}],
    "rotate 10": [{"type": "rotate", "degrees": 10}],
    "noise 0.1": [{"type": "noise", "std": 0.1}],
    "cutout 8": [{"type": "cutout", "size": 8}],
}


def parts_of_the_cnn():
    from backprop_cli.config.load import load_config
    from backprop_cli.train.setup import build_parts

    config = load_config(ROOT / "configs" / "mnist-cnn-augment.yaml").config
    return config, build_parts(config)


def augment_epoch_seconds(specs: list, x: np.ndarray, fill: np.ndarray, batch: int) -> float:
    from backprop_cli.config.schema import DataConfig
    from backprop_cli.data.augment import Augmenter

    validated = DataConfig(dataset="mnist", augment=specs).augment
    augment, rng = Augmenter(validated, fill), np.random.default_rng(0)
    started = time.process_time()
    for i in range(0, len(x), batch):
        augment(x[i : i + batch], rng)
    return time.process_time() - started


def step_seconds(trainer, steps: int) -> float:
    """CPU seconds per training step (no augmentation), the median of `steps` steps after one warm-up step."""
    trainer.augment = None
    trainer.begin_epoch()
    batches = trainer.epoch_batches()
    trainer.train_step(*next(batches))
    times = []
    for _ in range(steps):
        xb, yb = next(batches)
        started = time.process_time()
        trainer.train_step(xb, yb)
        times.append(time.process_time() - started)
    return float(np.median(times))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    config, parts = parts_of_the_cnn()
    trainer, batch = parts.trainer, config.training.batch_size
    x, fill = parts.data.x_train, parts.trainer.augment.fill
    n_batches = math.ceil(len(x) / batch)
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else "?"
    print(f"load average at start: {' '.join(load)}; {len(x)} images, {n_batches} batches of {batch}", end="")
    print(f"; {args.threads} threads")
    rows = []
    with threadpool_limits(args.threads):
        for name, specs in {**TRANSFORMS, "mnist-cnn-augment.yaml": None}.items():
            step = step_seconds(trainer, args.steps)  # sampled again beside each timing: the host's load moves
            specs = specs or [s.model_dump() for s in config.data.augment]
            seconds = augment_epoch_seconds(specs, x, fill, batch)
            rows.append((name, seconds, step * n_batches))
    print("| augmentation | CPU s per epoch | the epoch's steps (CPU s) | share |")
    print("| --- | --- | --- | --- |")
    for name, seconds, epoch in rows:
        print(f"| {name} | {seconds:.2f} | {epoch:.0f} | {100 * seconds / epoch:.1f}% |")


if __name__ == "__main__":
    main()
