"""The numbers of a run, step by step: what `backprop diff` compares.

`step_tensors(config, steps)` rebuilds the run from its config (the same seed, data, init and order of
batches as `train`) and yields, before the first step and after each one, every tensor the step
changes: the parameters (`<layer>.<name>`), their gradients (`grad.<layer>.<name>`), the layers'
state (running statistics) and the optimizer's slots (`optimizer.<slot>`). Epochs end as in training
(validation included); callbacks (early stopping, the plateau schedule's feed) are not replayed.

Run as `python -m backprop_cli.teach.lockstep` it does the same in a worker process and streams each
step's tensors to stdout as length-prefixed .npy archives (no pickle): a side of a diff with its own
environment (numba off, another thread count, another Python).
"""

from __future__ import annotations

import io
import json
import struct
import sys
from collections.abc import Iterator

import numpy as np


def _snapshot(trainer) -> dict[str, np.ndarray]:
    model = trainer.model
    tensors = {}
    for name, p, g in model.named_params():
        tensors[name] = p.copy()
        tensors[f"grad.{name}"] = g.copy()
    for name, t in model.state_tensors().items():
        tensors.setdefault(name, np.array(t, copy=True))
    tensors.update({f"optimizer.{k}": np.array(v, copy=True) for k, v in trainer.optimizer.state_dict().items()})
    return tensors


def step_tensors(config, steps: int) -> Iterator[dict[str, np.ndarray]]:
    """Tensors at step 0 (the initial weights) and after each of `steps` steps (fewer if the run ends)."""
    from backprop_cli.train.setup import build_parts

    trainer = build_parts(config).trainer
    yield _snapshot(trainer)
    taken = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        while taken < steps and trainer.epoch < trainer.epochs:
            trainer.begin_epoch()
            for xb, yb in trainer.epoch_batches():
                trainer.train_step(xb, yb)
                taken += 1
                yield _snapshot(trainer)
                if taken >= steps or trainer.status == "diverged":
                    return
            trainer.end_epoch()


# ---- a side in its own process ------------------------------------------------------------------
def write_frame(stream, tensors: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **{name.replace("/", "_"): t for name, t in tensors.items()})
    data = buffer.getvalue()
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def read_frame(stream) -> dict[str, np.ndarray] | None:
    """The next step's tensors, or None at the end of the stream."""
    header = stream.read(8)
    if len(header) < 8:
        return None
    (size,) = struct.unpack("<Q", header)
    with np.load(io.BytesIO(stream.read(size)), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def main() -> None:
    """argv: the resolved config as JSON, the number of steps."""
    from backprop_cli.config.load import config_from_dict

    config = config_from_dict(json.loads(sys.argv[1]), source="backprop diff")
    for tensors in step_tensors(config, int(sys.argv[2])):
        write_frame(sys.stdout.buffer, tensors)


if __name__ == "__main__":
    main()
