"""Behaviour that mutation testing (mutmut over optim/) showed no test held: each test here fails when one
surviving mutant is applied (see README, "Development")."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from backprop_cli.optim import specs
from backprop_cli.optim.adam import AdamW
from backprop_cli.optim.base import MIN_CHUNK
from backprop_cli.optim.registry import _OPTIMIZER_SPECS, _SCHEDULE_SPECS, OPTIMIZERS, SCHEDULES


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_an_update_split_across_threads_gives_the_single_thread_bits(name, threads, monkeypatch):
    # the NumPy rule on 2 threads cuts the flat array into chunks: they must cover it exactly once
    monkeypatch.setenv("BACKPROP_NO_NUMBA", "1")
    n = 3 * MIN_CHUNK + 7  # not a multiple of the chunk or of the thread count
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(n).astype(np.float32) for _ in range(3)]
    start = rng.standard_normal(n).astype(np.float32)
    results = []
    for n_threads in (1, threads):
        optimizer, w = OPTIMIZERS[name](), start.copy()
        optimizer.threads = n_threads
        for g in grads:
            optimizer.step([w], [g.copy()], 0.01)
        results.append(w)
    assert not np.array_equal(results[0], start)
    np.testing.assert_array_equal(results[1], results[0])


def test_adamw_uses_the_configured_eps():
    # one step: m_hat = g, v_hat = g^2, so w <- w (1 - lr wd) - lr g / (|g| + eps); with eps = 1, g = 2: 2/3 lr
    w, g = np.array([1.0]), np.array([2.0])
    AdamW(eps=1.0, weight_decay=0.0).step([w], [g], lr=0.3)
    np.testing.assert_allclose(w, [1.0 - 0.3 * 2.0 / 3.0], rtol=1e-12)


def _defaults(cls) -> dict:
    return {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty and p.default is not None
    }


@pytest.mark.parametrize("name", sorted(OPTIMIZERS) + sorted(SCHEDULES))
def test_a_rule_built_by_hand_has_the_configs_defaults(name):
    # one source of truth: Adam() in a notebook behaves like `optimizer: {type: adam}` in a config
    cls, spec = (
        (OPTIMIZERS[name], _OPTIMIZER_SPECS[name]) if name in OPTIMIZERS else (SCHEDULES[name], _SCHEDULE_SPECS[name])
    )
    fields = spec.model_fields
    for key, default in _defaults(cls).items():
        if key in fields:
            assert fields[key].default == default, f"{name}.{key}: class {default!r}, config {fields[key].default!r}"


def test_every_default_checked_is_a_config_key():
    # the table above must not pass vacuously: each optimizer's and schedule's defaults are config keys
    checked = {
        name: set(_defaults(cls)) & set((_OPTIMIZER_SPECS | _SCHEDULE_SPECS)[name].model_fields)
        for name, cls in (OPTIMIZERS | SCHEDULES).items()
    }
    assert checked["adam"] == {"beta1", "beta2", "eps"}
    assert checked["plateau"] >= {"factor", "patience", "min_delta", "min_lr", "monitor"}
    assert specs  # the spec module is what the config schema uses
