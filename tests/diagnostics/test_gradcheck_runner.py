"""The gradcheck runner: every example config passes, and a wrong backward anywhere is caught."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from backprop_cli.config.load import load_config
from backprop_cli.data import load_data
from backprop_cli.diagnostics.finite_diff import check_tensor
from backprop_cli.diagnostics.gradcheck import check_model, run_gradcheck
from backprop_cli.nn.conv.windows import reads_sequences
from backprop_cli.nn.core import activations, dense
from backprop_cli.nn.losses import build_loss
from backprop_cli.nn.model import build_model
from backprop_cli.nn.normalization import batchnorm
from tests.diagnostics.conftest import CONFIGS

EXAMPLES = sorted(CONFIGS.glob("*.yaml"))


@cache
def _data(data_json: str, seed: int, sequences: bool):
    config = load_config(next(p for p in EXAMPLES if _key(p) == (data_json, seed, sequences))).config
    return load_data(config.data, config.seed, np.float64, sequences=sequences)  # as train loads it


def _key(path):
    config = load_config(path).config
    return config.data.model_dump_json(), config.seed, reads_sequences(config.model.layers)


def check(path, samples=16, rows=6, overrides=()):
    config = load_config(path, list(overrides)).config
    return run_gradcheck(config, samples=samples, rows=rows, data=_data(*_key(path)))


def test_every_example_config_is_covered():
    assert len(EXAMPLES) >= 14 and CONFIGS / "mnist-mlp.yaml" in EXAMPLES


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_gradcheck_passes_on_every_example_config(path):
    report = check(path)
    assert report.passed, [(e.name, e.max_rel_error, e.max_abs_error) for e in report.failed]
    assert {e.kind for e in report.entries} == {"param", "input"}


BUGS = {
    "relu forgets its mask": (activations.ReLU, "backward", lambda orig: lambda self, dy: dy),
    "relu 0.1% too steep": (activations.ReLU, "backward", lambda orig: lambda self, dy: orig(self, dy) * 1.001),
    "sigmoid 1% too steep": (activations.Sigmoid, "backward", lambda orig: lambda self, dy: orig(self, dy) * 1.01),
}


def _scaled_grad(key, factor):
    def wrap(orig):
        def backward(self, dy):
            dx = orig(self, dy)
            self.grads[key][...] *= factor
            return dx

        return backward

    return wrap


BUGS["dense dW off by 0.01%"] = (dense.Dense, "backward", _scaled_grad("W", 1.0001))
BUGS["batchnorm dgamma off by 0.01%"] = (batchnorm.BatchNorm, "backward", _scaled_grad("gamma", 1.0001))


@pytest.mark.parametrize(
    "bug, config",
    [("relu forgets its mask", "digits-cnn"), ("relu 0.1% too steep", "quickstart"),
     ("sigmoid 1% too steep", "deep-sigmoid"), ("dense dW off by 0.01%", "iris"),
     ("batchnorm dgamma off by 0.01%", "digits")],
)  # fmt: skip
def test_gradcheck_catches_a_broken_backward(bug, config, monkeypatch):
    cls, method, make = BUGS[bug]
    monkeypatch.setattr(cls, method, make(getattr(cls, method)))
    report = check(CONFIGS / f"{config}.yaml")
    assert not report.passed
    assert all(e.n_failed > 0 for e in report.failed)


def test_vanishing_gradients_pass_as_noise_not_as_failures():
    report = check(CONFIGS / "deep-sigmoid.yaml", samples=32)
    first = next(e for e in report.entries if e.name == "0.W")
    assert first.verdict == "noise" and first.max_rel_error > 1e-6
    assert first.max_abs_error < report.noise_floor
    assert next(e for e in report.entries if e.name == "8.W").verdict == "ok"


def test_a_relu_kink_inside_the_step_is_recognised_and_left_out():
    w = np.array([1e-6, 0.5])  # relu(w) summed: w[0] sits 1e-6 from the kink, inside a step of 1e-5

    def f():
        return float(np.maximum(w, 0.0).sum())

    check = check_tensor(w, np.array([1.0, 1.0]), f, f(), 1e-5, np.arange(2), 1e-6, 1e-12)
    assert (check.n_kinks, check.n_failed) == (1, 0) and check.max_rel_error < 1e-9


def test_a_wrong_gradient_is_not_mistaken_for_a_kink():
    w = np.array([1e-6, 0.5])

    def f():
        return float(np.maximum(w, 0.0).sum())

    check = check_tensor(w, np.array([1.0, 2.0]), f, f(), 1e-5, np.arange(2), 1e-6, 1e-12)
    assert check.n_failed == 1 and check.max_rel_error > 0.3


def test_check_model_leaves_parameters_running_statistics_and_the_generator_as_they_were(rng):
    specs = [{"type": "dense", "units": 6, "activation": "tanh"}, {"type": "batchnorm"},
             {"type": "dropout", "rate": 0.5}, {"type": "dense", "units": 3}]  # fmt: skip
    model = build_model(specs, (4,), rng, np.float64)
    before = {k: t.copy() for k, t in model.state_tensors().items()}
    x, y = rng.standard_normal((5, 4)), np.array([0, 1, 2, 0, 1])
    state = rng.bit_generator.state
    _, checks = check_model(model, build_loss("cross_entropy"), x, y, rng, None, 1e-6)
    assert max(c.max_rel_error for *_, c in checks) < 1e-6
    assert rng.bit_generator.state == state
    for name, t in model.state_tensors().items():
        np.testing.assert_array_equal(t, before[name])
    assert model.input_grad is False
