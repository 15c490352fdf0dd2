"""Augmentation: each transform moves exactly the pixels a known draw says; draws come from the seeded
generator; only training batches are augmented; a transform that does not fit the data is a config error."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.config.load import build_config
from backprop_cli.config.yamlsafe import parse_yaml
from backprop_cli.data import augment_kernels
from backprop_cli.data.augment import (
    Augmenter,
    CropSpec,
    CutoutSpec,
    FlipSpec,
    NoiseSpec,
    RotateSpec,
    ShiftSpec,
    check_augment,
    cut_out,
    flip,
    rotate,
    rotate_rule,
    translate,
)
from backprop_cli.errors import ConfigError
from backprop_cli.train.evaluate import score_split
from backprop_cli.train.setup import build_parts

BG = np.full((1, 1, 1), -1.0)  # the background of a one-channel image


def image(n=2, h=3, w=4) -> np.ndarray:
    return np.arange(n * h * w, dtype=np.float64).reshape(n, 1, h, w)


def test_shift_moves_each_image_by_its_own_offsets_filling_with_the_background():
    x = image()
    out = translate(x, np.array([[1, 0], [0, -1]]), BG)  # image 0 one row down, image 1 one column left
    np.testing.assert_array_equal(out[0, 0], [[-1, -1, -1, -1], [0, 1, 2, 3], [4, 5, 6, 7]])
    np.testing.assert_array_equal(out[1, 0], [[13, 14, 15, -1], [17, 18, 19, -1], [21, 22, 23, -1]])


def test_shift_moves_a_signal_along_its_steps():
    x = np.arange(8, dtype=np.float32).reshape(2, 1, 4)
    out = translate(x, np.array([[2], [-1]]), np.full((1, 1), -1.0))
    np.testing.assert_array_equal(out[:, 0], [[-1, -1, 0, 1], [5, 6, 7, -1]])
    assert out.dtype == np.float32


def test_a_zero_offset_leaves_the_image_as_it_was():
    x = image()
    np.testing.assert_array_equal(translate(x, np.zeros((2, 2), dtype=int), BG), x)


def test_flip_reverses_only_the_chosen_images_along_the_chosen_axis():
    x = image()
    left_right = flip(x, np.array([True, False]), axis=-1)
    np.testing.assert_array_equal(left_right[0, 0, 0], [3, 2, 1, 0])
    np.testing.assert_array_equal(left_right[1], x[1])
    np.testing.assert_array_equal(flip(x, np.array([False, True]), axis=-2)[1, 0, 0], [20, 21, 22, 23])


def test_rotate_by_a_quarter_turn_is_rot90_and_by_zero_the_identity():
    x = np.arange(9, dtype=np.float64).reshape(1, 1, 3, 3)
    np.testing.assert_allclose(rotate(x, np.array([np.pi / 2]), BG)[0, 0], np.rot90(x[0, 0]), atol=1e-12)
    np.testing.assert_allclose(rotate(x, np.array([0.0]), BG), x)


def test_rotate_fills_corners_from_outside_with_the_background_and_interpolates_inside():
    x = np.ones((1, 1, 3, 3))
    out = rotate(x, np.array([np.pi / 4]), BG)[0, 0]
    assert out[1, 1] == pytest.approx(1.0)  # the centre stays
    # the corner (0, 0) is at distance √2 from the centre; turned back by 45° its source is (1 − √2, 1),
    # 0.414 of a pixel above the top row: bilinear between the background (-1) and the row (1)
    assert out[0, 0] == pytest.approx(-1 * (np.sqrt(2) - 1) + 1 * (2 - np.sqrt(2)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7, 3, 11, 9), (2, 1, 1, 1), (5, 2, 4, 13)])
def test_the_compiled_rotation_gives_the_numpy_rules_bits(dtype, shape):
    assert augment_kernels.kernels().get("rotate") is not None, "numba is a core dependency"
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape).astype(dtype)
    radians = np.radians(rng.uniform(-180, 180, shape[0]))
    fill = np.arange(shape[1], dtype=np.float64).reshape(-1, 1, 1) - 0.5  # a background per channel
    fast = rotate(x, radians, fill)
    slow = rotate_rule(x, radians, fill.reshape(-1).astype(dtype))
    assert fast.dtype == dtype and fast.tobytes() == slow.tobytes()


def test_cutout_blanks_a_square_at_each_corner_clipped_to_the_image():
    x = image()
    out = cut_out(x, np.array([[0, 1], [2, -1]]), size=2, fill=BG)
    np.testing.assert_array_equal(out[0, 0], [[0, -1, -1, 3], [4, -1, -1, 7], [8, 9, 10, 11]])
    np.testing.assert_array_equal(out[1, 0], [[12, 13, 14, 15], [16, 17, 18, 19], [-1, 21, 22, 23]])


def test_the_augmenter_draws_from_the_generator_in_the_listed_order():
    x = image(n=5, h=6, w=6)
    specs = [ShiftSpec(type="shift", max=2), NoiseSpec(type="noise", std=0.5)]
    out = Augmenter(specs, BG)(x, np.random.default_rng(7))
    rng = np.random.default_rng(7)  # the same draws by hand: offsets for 5 images (2 axes), then the noise
    expected = translate(x, rng.integers(-2, 3, size=(5, 2)), BG) + rng.standard_normal(x.shape) * 0.5
    np.testing.assert_array_equal(out, expected)


def test_crop_with_pad_p_is_a_shift_drawn_in_minus_p_to_p():
    x = image(n=4, h=5, w=5)
    crop = Augmenter([CropSpec(type="crop", pad=1)], BG)(x, np.random.default_rng(3))
    shift = Augmenter([ShiftSpec(type="shift", max=1)], BG)(x, np.random.default_rng(3))
    np.testing.assert_array_equal(crop, shift)


def test_each_batch_gets_a_new_draw_and_the_input_is_left_untouched():
    x = image(n=8, h=6, w=6)
    before = x.copy()
    augment = Augmenter([ShiftSpec(type="shift", max=2), RotateSpec(type="rotate", degrees=20)], BG)
    rng = np.random.default_rng(0)
    first, second = augment(x, rng), augment(x, rng)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(x, before)
    assert first.dtype == x.dtype and first.shape == x.shape


def test_flip_with_p_zero_or_one_flips_none_or_all():
    x = image(n=3)
    never = Augmenter([FlipSpec(type="flip", p=0.0)], BG)(x, np.random.default_rng(0))
    always = Augmenter([FlipSpec(type="flip", p=1.0)], BG)(x, np.random.default_rng(0))
    np.testing.assert_array_equal(never, x)
    np.testing.assert_array_equal(always, x[..., ::-1])


@pytest.mark.parametrize(
    "spec, shape, message",
    [
        (RotateSpec(type="rotate"), (1, 16), "rotate applies to images (C, H, W)"),
        (ShiftSpec(type="shift"), (4,), "shift applies to signals (C, L) and images (C, H, W)"),
        (FlipSpec(type="flip", axis="vertical"), (1, 16), "vertical flip needs images"),
        (CutoutSpec(type="cutout", size=20), (1, 4, 4), "larger than the example"),
    ],
)
def test_a_transform_that_does_not_fit_the_data_is_refused_at_its_key(spec, shape, message):
    with pytest.raises(ConfigError) as err:
        check_augment([NoiseSpec(type="noise"), spec], shape)
    assert message in str(err.value) and err.value.where.startswith("data.augment.1")


def test_token_ids_are_never_augmented():
    with pytest.raises(ConfigError, match="token ids"):
        check_augment([NoiseSpec(type="noise")], (32,), token_ids=True)


CONFIG = """\
seed: 4
data: {dataset: digits, validation_split: 0.2, augment: [{type: noise, std: 50.0}, {type: shift, max: 1}]}
model:
  layers:
    - {type: flatten}
    - {type: dense, units: 10}
optimizer: {type: sgd, lr: 0.01}
training: {epochs: 1, batch_size: 64, dtype: float64}
"""


def test_only_training_batches_are_augmented_and_the_data_stays_as_loaded():
    parts = build_parts(build_config(parse_yaml(CONFIG, "augment.yaml")).config)
    trainer, data = parts.trainer, parts.data
    x_train = data.x_train.copy()
    trainer.begin_epoch()
    xb, yb = next(iter(trainer.epoch_batches()))
    xb, yb = xb.copy(), yb.copy()
    clean = trainer.loss.forward(trainer.model.forward(xb, training=True), yb)
    assert trainer.train_step(xb, yb) > 5 * clean  # noise of std 50 in the step's batch: a far worse loss
    np.testing.assert_array_equal(data.x_train, x_train)
    logs = trainer.end_epoch()
    expected = score_split(trainer.model, trainer.loss, data.x_val, data.y_val, True)
    assert logs["val_loss"] == expected["loss"]  # validation scored the data itself


def test_the_background_is_what_a_raw_zero_scales_to():
    parts = build_parts(build_config(parse_yaml(CONFIG, "augment.yaml")).config)
    fill = parts.trainer.augment.fill
    assert fill.shape == (1, 1, 1)
    scaler = parts.data.scaler
    assert fill[0, 0, 0] == pytest.approx(float(-scaler.offset.reshape(-1)[0] / scaler.scale.reshape(-1)[0]))
