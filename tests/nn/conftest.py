"""Helpers for the nn tests: a float64 finite-difference assertion; the same code through the NumPy rules and
through the compiled kernels."""

from __future__ import annotations

import pytest

from backprop_cli.nn.gradcheck import gradient_check_entries

TOLERANCE = 1e-7  # max relative error of any checked entry, in float64


def assert_gradients_match(layer, x, rng, **kwargs):
    """Every analytic gradient (each parameter and the input) agrees with central differences."""
    entries = gradient_check_entries(layer, x, rng, **kwargs)
    bad = [e for e in entries if not e.max_rel_error < TOLERANCE]
    assert not bad, "gradients disagree with finite differences:\n" + "\n".join(map(str, bad))
    return entries


@pytest.fixture
def gradients_match():
    return assert_gradients_match


@pytest.fixture
def rules_then_kernels(monkeypatch):
    """run(fn) -> [fn() with the NumPy rules (BACKPROP_NO_NUMBA=1), fn() with the compiled kernels]."""

    def run(fn):
        monkeypatch.setenv("BACKPROP_NO_NUMBA", "1")
        rules = fn()
        monkeypatch.delenv("BACKPROP_NO_NUMBA")
        return [rules, fn()]

    return run
