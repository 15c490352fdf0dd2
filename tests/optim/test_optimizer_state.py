"""The base class's promises, for every registered optimizer: exact save/restore, dtype kept, shapes checked."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import load, save

from backprop_cli.errors import CheckpointError
from backprop_cli.optim.adam import Adam
from backprop_cli.optim.base import MIN_CHUNK
from backprop_cli.optim.registry import OPTIMIZERS, build_optimizer

NAMES = sorted(OPTIMIZERS)


def make(name):
    return build_optimizer({"type": name})


def gradient_stream(seed, shapes, dtype, n):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(n)]


def take_steps(opt, params, grads_seq, lr=0.01):
    for grads in grads_seq:
        opt.step(params, grads, lr)


@pytest.mark.parametrize("name", NAMES)
def test_a_restored_optimizer_continues_bit_for_bit(name):
    shapes, dtype = [(3, 4), (5,)], np.float32
    params = [a.copy() for a in gradient_stream(1, shapes, dtype, 1)[0]]
    before, after = gradient_stream(2, shapes, dtype, 3), gradient_stream(3, shapes, dtype, 4)

    original = make(name)
    take_steps(original, params, before)
    saved_state = original.state_dict()
    saved_params = [p.copy() for p in params]
    take_steps(original, params, after)  # the saved state must not follow these steps

    restored = make(name)
    restored.load_state_dict(saved_state)
    take_steps(restored, saved_params, after)

    for p, q in zip(params, saved_params):
        assert np.array_equal(p, q) and p.tobytes() == q.tobytes()
    final, again = original.state_dict(), restored.state_dict()
    assert final.keys() == again.keys()
    assert all(final[k].tobytes() == again[k].tobytes() and final[k].dtype == again[k].dtype for k in final)


@pytest.mark.parametrize("name", NAMES)
def test_the_state_survives_a_safetensors_file(name):
    params, grads = [np.ones((2, 3), np.float32)], [np.full((2, 3), 0.5, np.float32)]
    opt = make(name)
    take_steps(opt, params, [grads, grads])
    state = load(save(opt.state_dict()))
    fresh = make(name)
    fresh.load_state_dict(state)
    assert fresh.t == 2
    assert {k: v.tobytes() for k, v in fresh.state_dict().items()} == {k: v.tobytes() for k, v in state.items()}


def test_the_state_names_the_step_count_and_each_slot_by_parameter_index():
    opt = Adam()
    opt.step([np.zeros(2), np.zeros((1, 3))], [np.ones(2), np.ones((1, 3))], lr=0.1)
    state = opt.state_dict()
    assert sorted(state) == ["m.0", "m.1", "t", "v.0", "v.1"]
    assert state["t"].dtype == np.int64 and state["t"].shape == () and int(state["t"]) == 1
    assert state["m.1"].shape == (1, 3)


@pytest.mark.parametrize("name", NAMES)
def test_float32_parameters_and_slots_stay_float32(name):
    params = [np.ones(6, np.float32), np.ones((2, 2), np.float32)]
    grads = [np.full(6, 0.1, np.float32), np.full((2, 2), -0.2, np.float32)]
    opt = make(name)
    take_steps(opt, params, [grads] * 3, lr=np.float64(0.01))  # even a float64 lr must not upcast
    assert [p.dtype for p in params] == [np.float32, np.float32]
    assert all(a.dtype == np.float32 for k, a in opt.state_dict().items() if k != "t")


@pytest.mark.parametrize("name", NAMES)
def test_splitting_a_large_array_across_threads_changes_no_bit(name):
    n = 2 * MIN_CHUNK + 7  # large enough to be split, with uneven chunks
    grads = gradient_stream(4, [(n,)], np.float32, 3)
    one, two = make(name), make(name)
    two.threads = 2
    p1 = [np.ones(n, np.float32)]
    p2 = [np.ones(n, np.float32)]
    take_steps(one, p1, grads)
    take_steps(two, p2, grads)
    assert p1[0].tobytes() == p2[0].tobytes()


def test_loading_a_slot_of_another_shape_names_the_key_and_both_shapes():
    opt = Adam()
    opt.step([np.zeros(4)], [np.ones(4)], lr=0.1)
    state = opt.state_dict()
    state["v.0"] = np.zeros(3)
    with pytest.raises(CheckpointError, match=r"'v\.0'.*\(3,\).*\(4,\)"):
        opt.load_state_dict(state)


def test_a_restored_state_that_does_not_fit_the_parameters_fails_at_the_first_step():
    saved = Adam()
    saved.step([np.zeros((2, 3))], [np.ones((2, 3))], lr=0.1)
    fresh = Adam()
    fresh.load_state_dict(saved.state_dict())
    with pytest.raises(CheckpointError, match=r"'m\.0'.*\(2, 3\).*\(3, 2\)") as err:
        fresh.step([np.zeros((3, 2))], [np.ones((3, 2))], lr=0.1)
    assert err.value.where == "optimizer.m.0"


def test_a_restored_state_for_fewer_parameters_is_a_checkpoint_error():
    saved = Adam()
    saved.step([np.zeros(2)], [np.ones(2)], lr=0.1)
    fresh = Adam()
    fresh.load_state_dict(saved.state_dict())
    with pytest.raises(CheckpointError, match="covers 1 parameter arrays"):
        fresh.step([np.zeros(2), np.zeros(2)], [np.ones(2), np.ones(2)], lr=0.1)


@pytest.mark.parametrize(
    "change, key",
    [
        (lambda s: s.pop("v.0"), "v.0"),
        (lambda s: s.update({"s.0": np.zeros(2)}), "s.0"),
        (lambda s: s.pop("t"), "t"),
        (lambda s: s.update({"t": np.zeros(2, np.int64)}), "t"),
    ],
    ids=["missing slot", "foreign slot", "missing t", "t not a scalar"],
)
def test_a_missing_or_unexpected_key_is_a_checkpoint_error_naming_it(change, key):
    opt = Adam()
    opt.step([np.zeros(2)], [np.ones(2)], lr=0.1)
    state = opt.state_dict()
    change(state)
    with pytest.raises(CheckpointError, match=f"'{key}'"):
        Adam().load_state_dict(state)


def test_a_one_element_step_count_is_accepted():
    opt = Adam()
    opt.load_state_dict({"t": np.array([7], dtype=np.int64), "m.0": np.zeros(2), "v.0": np.zeros(2)})
    assert opt.t == 7


def test_a_loaded_state_is_a_private_writable_copy():
    opt = Adam()
    opt.step([np.zeros(2)], [np.ones(2)], lr=0.1)
    state = opt.state_dict()
    for a in state.values():
        a.flags.writeable = False  # as a memory-mapped checkpoint might be
    fresh = Adam()
    fresh.load_state_dict(state)
    fresh.step([np.zeros(2)], [np.ones(2)], lr=0.1)
    assert int(state["t"]) == 1 and fresh.t == 2


def test_a_gradient_of_another_shape_is_refused():
    with pytest.raises(ValueError, match="gradient"):
        Adam().step([np.zeros(3)], [np.ones(4)], lr=0.1)
