"""Scenario 10: a reader of a checkpoint that is being rewritten always sees a whole file."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from backprop_cli.runs.checkpoint import load_checkpoint, save_checkpoint

WRITER = """
import sys, numpy as np
from backprop_cli.runs.checkpoint import save_checkpoint
print("ready", flush=True)
for epoch in range(2, 150):
    save_checkpoint(sys.argv[1], {"model.0.W": np.full((256, 256), epoch, np.float32)}, {"epoch": epoch})
"""


def test_loading_while_another_process_rewrites_the_checkpoint_never_fails(tmp_path):
    path = tmp_path / "last.safetensors"
    save_checkpoint(path, {"model.0.W": np.full((256, 256), 1, np.float32)}, {"epoch": 1})
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    epochs = []
    try:
        assert writer.stdout.readline() == "ready\n"
        while writer.poll() is None:
            checkpoint = load_checkpoint(path)
            epoch = checkpoint.meta["epoch"]
            assert (checkpoint.tensors["model.0.W"] == epoch).all()  # weights and metadata agree
            epochs.append(epoch)
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()
    assert writer.returncode == 0
    assert epochs == sorted(epochs) and load_checkpoint(path).meta["epoch"] == 149
