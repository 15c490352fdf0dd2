"""The weight average: two steps by hand, the half-life, the fused pass against the NumPy rule, the swap."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.config.load import build_config
from backprop_cli.config.yamlsafe import parse_yaml
from backprop_cli.optim import fused
from backprop_cli.optim.ema import WeightAverage, decay_from
from backprop_cli.train.setup import build_parts


def test_two_steps_worked_out_by_hand():
    # decay 0.5: shadow starts at the weights [1, 2]; after [3, 2] it is [2, 2]; after [3, 6], [2.5, 4]
    params = np.array([1.0, 2.0])
    ema = WeightAverage(params, decay=0.5)
    ema.update(np.array([3.0, 2.0]))
    np.testing.assert_array_equal(ema.shadow, [2.0, 2.0])
    ema.update(np.array([3.0, 6.0]))
    np.testing.assert_array_equal(ema.shadow, [2.5, 4.0])
    np.testing.assert_array_equal(params, [1.0, 2.0])  # the shadow is a copy: the weights are not touched


def test_a_half_life_of_h_steps_halves_an_old_weights_share_in_h_steps():
    decay = decay_from(None, 10)
    assert decay**10 == pytest.approx(0.5)
    assert decay_from(0.999, None) == 0.999


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_fused_pass_gives_the_numpy_rules_bits(dtype):
    if fused.kernel("ema", np.zeros(fused.MIN_SIZE, dtype), np.zeros(fused.MIN_SIZE, dtype)) is None:
        pytest.fail("numba is a core dependency: the fused weight average must be available")
    rng = np.random.default_rng(0)
    n = fused.MIN_SIZE + 3  # odd: no tail left out
    start, steps = rng.standard_normal(n).astype(dtype), [rng.standard_normal(n).astype(dtype) for _ in range(3)]
    fast, slow = WeightAverage(start, 0.9), WeightAverage(start, 0.9)
    for p in steps:
        fast.update(p)
        np.subtract(p, slow.shadow, out=slow._diff)  # the NumPy rule, by hand
        slow._diff *= dtype(1 - 0.9)
        slow.shadow += slow._diff
    assert fast.shadow.dtype == dtype
    assert fast.shadow.tobytes() == slow.shadow.tobytes()


def test_the_model_runs_on_the_average_inside_the_block_and_on_its_own_weights_after():
    params = np.array([1.0, 2.0, 3.0])
    ema = WeightAverage(params, decay=0.5)
    ema.update(np.array([3.0, 4.0, 5.0]))
    with ema.swapped_into(params):
        np.testing.assert_array_equal(params, [2.0, 3.0, 4.0])
    np.testing.assert_array_equal(params, [1.0, 2.0, 3.0])


CONFIG = """\
seed: 1
data: {dataset: iris, validation_split: 0.2}
model:
  layers:
    - {type: dense, units: 5, activation: tanh}
    - {type: dense, units: 3}
optimizer: {type: sgd, lr: 0.5}
training: {epochs: 1, batch_size: 16, dtype: float64, ema: {decay: 0.75}}
"""


def test_the_trainer_averages_after_each_optimizer_step_and_validates_on_the_average():
    parts = build_parts(build_config(parse_yaml(CONFIG, "ema.yaml")).config)
    trainer = parts.trainer
    seen = [trainer.model.flat_params.copy()]
    trainer.begin_epoch()
    for xb, yb in list(trainer.epoch_batches())[:2]:
        trainer.train_step(xb.copy(), yb.copy())
        seen.append(trainer.model.flat_params.copy())
    expected = 0.75 * (0.75 * seen[0] + 0.25 * seen[1]) + 0.25 * seen[2]
    np.testing.assert_allclose(trainer.ema.shadow, expected, rtol=1e-15)
    raw = trainer.model.flat_params.copy()
    logs = trainer.end_epoch()
    np.testing.assert_array_equal(trainer.model.flat_params, raw)  # back on its own weights
    trainer.model.flat_params[...] = expected
    scores = trainer.model.forward(parts.data.x_val, training=False)
    assert logs["val_loss"] == pytest.approx(trainer.loss.forward(scores, parts.data.y_val), rel=1e-12)
    trainer.model.flat_params[...] = raw
    span = trainer.model.param_slices["0.W"]
    np.testing.assert_allclose(trainer.kept_weights()["0.W"].reshape(-1), expected[span], rtol=1e-15)  # the result
    np.testing.assert_array_equal(trainer.model.state_tensors()["0.W"].reshape(-1), raw[span])
