"""Before the first epoch's clock: kernels compiled (or loaded from numba's cache), freed memory kept."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

STEPS = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    from backprop_cli.train.loop import keep_freed_memory
    from backprop_cli.nn.losses import build_loss
    from backprop_cli.nn.model import build_model

    assert keep_freed_memory()
    specs = [{"type": "conv2d", "filters": 16, "kernel_size": 5, "padding": 2, "activation": "relu"},
             {"type": "maxpool2d"}, {"type": "flatten"}, {"type": "dense", "units": 10}]
    model, loss = build_model(specs, (1, 28, 28), np.random.default_rng(0)), build_loss("cross_entropy")
    x, y = np.random.default_rng(1).random((64, 1, 28, 28), dtype=np.float32), np.arange(64) % 10
    faults = []
    for _ in range(6):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        loss.forward(model.forward(x, training=True), y)
        model.backward(loss.backward())
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    print(faults)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_after_two_steps_a_cnn_step_takes_no_page_faults_once_freed_memory_is_kept():
    """Each step allocates 3.2 MB activations again; fresh pages would fault (thousands a step without it)."""
    done = subprocess.run([sys.executable, "-c", STEPS], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    faults = json.loads(done.stdout)  # the page faults of each step
    assert sum(faults[2:]) < 200, faults


def test_warm_up_compiles_the_kernels_of_the_model_and_the_optimizer_before_training(monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.delenv("BACKPROP_NO_NUMBA", raising=False)
    import numpy as np

    from backprop_cli.nn.kernels import conv as conv_kernels
    from backprop_cli.nn.model import build_model
    from backprop_cli.optim import fused
    from backprop_cli.optim.adam import Adam
    from backprop_cli.train.loop import warm_up

    specs = [{"type": "conv2d", "filters": 64, "kernel_size": 3}, {"type": "maxpool2d"}, {"type": "flatten"}]
    specs.append({"type": "dense", "units": 10})
    model = build_model(specs, (3, 32, 32), np.random.default_rng(0))
    assert model.flat_params.size >= fused.MIN_SIZE  # large enough for the fused Adam

    class Trainer:  # the two attributes warm_up reads
        optimizer = Adam()

    Trainer.model = model
    warm_up(Trainer)
    kernels = conv_kernels.kernels()
    assert all(kernels[name].__wrapped__.signatures for name in ("im2col", "col2im", "maxpool", "maxpool_backward"))
    assert fused.compiled("optim", fused._optimizer_kernels)["adam"].signatures
