"""The optimizer and schedule tables: equal to the spec tables, built from specs or dicts, misses explained."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.errors import ConfigError
from backprop_cli.optim import specs
from backprop_cli.optim.adam import Adam, AdamW
from backprop_cli.optim.registry import OPTIMIZERS, SCHEDULES, build_optimizer, build_schedule, spec_types
from backprop_cli.optim.schedules import StepDecay
from backprop_cli.optim.sgd import Nesterov


def test_every_optimizer_spec_type_is_registered_and_vice_versa():
    assert set(spec_types(specs.OPTIMIZER_SPECS)) == set(OPTIMIZERS)


def test_every_schedule_spec_type_is_registered_and_vice_versa():
    assert set(spec_types(specs.SCHEDULE_SPECS)) == set(SCHEDULES)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_builds_from_its_spec_defaults(name):
    assert type(build_optimizer({"type": name})) is OPTIMIZERS[name]


def test_an_optimizer_builds_from_a_pydantic_spec_with_its_fields():
    opt = build_optimizer(specs.AdamSpec(type="adam", beta1=0.5, eps=1e-6))
    assert type(opt) is Adam and (opt.beta1, opt.beta2, opt.eps) == (0.5, 0.999, 1e-6)


def test_nesterov_shares_the_momentum_spec():
    opt = build_optimizer({"type": "nesterov", "momentum": 0.5})
    assert type(opt) is Nesterov and opt.momentum == 0.5


def test_an_unknown_optimizer_is_a_config_error_with_a_did_you_mean():
    with pytest.raises(ConfigError) as err:
        build_optimizer({"type": "adma", "lr": 0.1})
    assert err.value.where == "optimizer.type"
    assert "'adma'" in str(err.value) and "did you mean 'adam'?" in str(err.value)


def test_an_optimizer_without_a_type_lists_the_choices():
    with pytest.raises(ConfigError, match="adamw") as err:
        build_optimizer({"lr": 0.1})
    assert err.value.where == "optimizer.type"


@pytest.mark.parametrize(
    "spec, where",
    [
        ({"type": "adam", "lr": -1.0}, "optimizer.lr"),
        ({"type": "momentum", "momentum": 1.5}, "optimizer.momentum"),
        ({"type": "sgd", "beta1": 0.9}, "optimizer.beta1"),
        ({"type": "rmsprop", "rho": "high"}, "optimizer.rho"),
    ],
)
def test_an_invalid_optimizer_field_is_a_config_error_at_its_key_path(spec, where):
    with pytest.raises(ConfigError) as err:
        build_optimizer(spec)
    assert err.value.where == where


def test_adamw_receives_the_parameters_to_decay_and_the_others_ignore_them():
    flat = np.zeros(5)
    adamw = build_optimizer({"type": "adamw", "weight_decay": 0.1}, decay_params=[flat[:3]])
    assert type(adamw) is AdamW and adamw.weight_decay == 0.1 and adamw.decay_params[0].base is flat
    assert not hasattr(build_optimizer({"type": "adam"}, decay_params=[flat[:3]]), "decay_params")


def test_a_schedule_builds_from_a_dict_with_the_run_length():
    s = build_schedule({"type": "step", "step_size": 4}, base_lr=0.1, epochs=10, steps_per_epoch=7)
    assert type(s) is StepDecay
    assert (s.step_size, s.gamma) == (4, 0.1)  # gamma: the spec's default
    assert (s.base_lr, s.epochs, s.steps_per_epoch) == (0.1, 10, 7)


def test_a_schedule_builds_from_a_pydantic_spec():
    s = build_schedule(specs.CosineSpec(type="cosine", min_lr=0.01), base_lr=0.1, epochs=2, steps_per_epoch=3)
    assert s.lr_at(5, 1) == pytest.approx(0.01)


def test_an_unknown_schedule_is_a_config_error_with_a_did_you_mean():
    with pytest.raises(ConfigError, match="did you mean 'cosine'") as err:
        build_schedule({"type": "cosin"}, 0.1, 1, 1)
    assert err.value.where == "schedule.type"


def test_an_invalid_schedule_field_is_a_config_error_at_its_key_path():
    with pytest.raises(ConfigError) as err:
        build_schedule({"type": "plateau", "monitor": "val_los"}, 0.1, 1, 1)
    assert err.value.where == "schedule.monitor"
