"""A run that uses every training tool at once (augmentation, label smoothing, accumulation, the weight
average, warmup in front of cosine, early stopping's variants, dropout) is killed and resumed: the result is
bit-identical to the uninterrupted run, the augmentation generator and the average included."""

from __future__ import annotations

import signal

import numpy as np
import pytest

from backprop_cli.config.load import build_config
from backprop_cli.config.yamlsafe import parse_yaml
from backprop_cli.train.setup import build_parts

from .helpers import (
    assert_same_run,
    checkpoint_epoch,
    kill_at,
    metrics,
    only_run,
    resume,
    signal_mid_epoch,
    state_bytes,
    summary,
    train,
)

ALL_TOOLS = """\
name: tools
seed: 9
data:
  dataset: digits
  validation_split: 0.2
  augment:
    - {type: shift, max: 1}
    - {type: flip, p: 0.2}
    - {type: rotate, degrees: 10}
    - {type: noise, std: 0.05}
    - {type: cutout, size: 2}
model:
  layers:
    - {type: conv2d, filters: 4, kernel_size: 3, padding: 1, activation: relu}
    - {type: flatten}
    - {type: dropout, rate: 0.1}
    - {type: dense, units: 10}
loss: {type: cross_entropy, label_smoothing: 0.1}
optimizer: {type: adam, lr: 0.01}
schedule: {type: cosine, warmup_epochs: 0.5}
training:
  epochs: 3
  batch_size: 4
  accumulate: 2
  ema: {half_life_steps: 20}
  early_stopping: {patience: 5, baseline: 10.0, start_from_epoch: 1, divergence_threshold: 100.0}
"""


@pytest.fixture(scope="module")
def tools_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("tools") / "tools.yaml"
    path.write_text(ALL_TOOLS)
    return path


@pytest.fixture(scope="module")
def uninterrupted(tools_config, tmp_path_factory):
    """The reference run trains in its own process, as the interrupted runs do: in a test process that has
    run other tests (a pytest-xdist worker), a leftover setting could change the metrics' last bits."""
    runs_dir = tmp_path_factory.mktemp("tools-reference")
    result = train(tools_config, runs_dir)
    assert result.returncode == 0, result.stderr
    return only_run(runs_dir)


def test_the_reference_run_keeps_a_weight_average_and_augments(uninterrupted):
    tensors = state_bytes(uninterrupted)
    assert any(name.startswith("ema.") for name in tensors)
    assert tensors["ema.0.W"] != tensors["model.0.W"]  # the average is not the trained weights
    assert summary(uninterrupted)["status"] == "completed"


def test_sigkill_between_epochs_resumes_bit_identical_with_every_tool_on(tools_config, uninterrupted, tmp_path):
    result = train(tools_config, tmp_path, env=kill_at("after_rename", "summary.json", 1))  # after epoch 2
    assert result.returncode == -signal.SIGKILL
    run = only_run(tmp_path)
    assert checkpoint_epoch(run) == (2, 0)
    resumed = resume(run)
    assert resumed.returncode == 0, resumed.stderr
    assert [m["epoch"] for m in metrics(run)] == [1, 2, 3]
    assert_same_run(uninterrupted, run)


def test_sigint_mid_epoch_resumes_bit_identical_with_every_tool_on(tools_config, uninterrupted, tmp_path):
    for attempt in range(4):  # a signal that lands between two epochs proves less: try again
        run, proc = signal_mid_epoch(tools_config, tmp_path / f"try{attempt}", signal.SIGINT)
        assert proc.returncode == -signal.SIGINT
        if checkpoint_epoch(run)[1] > 0:
            break
    assert checkpoint_epoch(run)[1] > 0, "the signal never landed inside an epoch"
    resumed = resume(run)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(uninterrupted, run)


def test_a_trainer_restored_mid_epoch_continues_with_the_same_draws_and_average():
    config = build_config(parse_yaml(ALL_TOOLS.replace("epochs: 3", "epochs: 1"), "tools.yaml")).config

    def steps(trainer, n):
        batches = trainer.epoch_batches()
        for _ in range(n):
            trainer.train_step(*next(batches))

    straight = build_parts(config).trainer
    straight.begin_epoch()
    steps(straight, 6)
    first = build_parts(config).trainer
    first.begin_epoch()
    steps(first, 4)
    tensors = {k: v.copy() for k, v in first.tensors().items()}
    progress = first.progress_state()
    second = build_parts(config).trainer
    second.load(tensors, progress)
    second.begin_epoch()
    steps(second, 2)
    for name, value in straight.tensors().items():
        assert second.tensors()[name].tobytes() == value.tobytes(), name
    assert second.augment_rng.bit_generator.state == straight.augment_rng.bit_generator.state
    np.testing.assert_array_equal(second.ema.shadow, straight.ema.shadow)
