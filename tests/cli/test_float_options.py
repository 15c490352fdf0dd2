"""Every float option of every verb is parsed by one FiniteFloat: a finite number in a range where the arithmetic on
it stays finite. NaN, inf, 1e400, a subnormal or a value past the range is exit 2 naming the option, at parse time."""

from __future__ import annotations

import inspect
import math
import typing

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.cli import app
from backprop_cli.cli.options import FiniteFloat
from backprop_cli.limits import LR_RANGE, TEMPERATURE_RANGE
from backprop_cli.lm import next_id
from backprop_cli.teach.lr_find import RangeSchedule
from tests.reliability.helpers import in_process


def commands(typer_app, path=()):
    """(command path, its callback) for every verb and sub-verb."""
    for info in typer_app.registered_commands:
        yield (*path, info.name), info.callback
    for group in typer_app.registered_groups:
        yield from commands(group.typer_instance, (*path, group.name))


def float_options():
    """(command path, option name, its parser) for every option whose value is a float."""
    for path, callback in commands(app):
        for hint in typing.get_type_hints(inspect.unwrap(callback), include_extras=True).values():
            if typing.get_origin(hint) is not typing.Annotated:
                continue
            kind, *extras = typing.get_args(hint)
            if float in (kind, *typing.get_args(kind)):
                option = next(e for e in extras if hasattr(e, "param_decls"))
                decls = [d for d in (option.default, *option.param_decls) if isinstance(d, str) and d[:2] == "--"]
                yield path, decls[0], option.parser  # Annotated[...]: the first declaration is in `default`


FLOAT_OPTIONS = list(float_options())


def test_the_verbs_have_float_options_to_check():
    assert {opt for _, opt, _ in FLOAT_OPTIONS} >= {"--start", "--end", "--temperature", "--tolerance"}


@pytest.mark.parametrize("path, option, parser", FLOAT_OPTIONS, ids=lambda v: v if isinstance(v, str) else None)
def test_every_float_option_is_parsed_by_a_finite_float(path, option, parser):
    assert isinstance(parser, FiniteFloat), f"{' '.join(path)} {option} is a bare float: give it parser=FiniteFloat"
    assert math.isfinite(parser.low) and math.isfinite(parser.high) and parser.low <= parser.high


def bad_values(parser: FiniteFloat) -> list[str]:
    below = [] if parser.low == 0 else [repr(parser.low / 10), "-1", "1e-310"] if parser.zero else ["0", "-1", "1e-310"]
    return ["nan", "inf", "-inf", "1e400", "-1e400", "abc", repr(parser.high * 10), *below]


STAND_IN = FiniteFloat(0.0, 1.0)  # for an option that has no FiniteFloat (the test above fails for it)
CASES = [(path, opt, value) for path, opt, p in FLOAT_OPTIONS for value in bad_values(p if p else STAND_IN)]


@pytest.mark.parametrize("path, option, value", CASES, ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_a_float_option_outside_its_range_is_exit_2_naming_it(path, option, value):
    result = in_process(*path, option, value)  # refused while parsing, before any argument is looked at
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {option}: ") and "Traceback" not in result.stderr
    assert "give a finite number from" in result.stderr


@settings(max_examples=200, deadline=None)
@given(st.floats(*LR_RANGE), st.floats(*LR_RANGE), st.integers(2, 10_000))
def test_the_lr_range_stays_finite_from_start_to_end_for_any_rates_in_range(a, b, steps):
    start, end = min(a, b), max(a, b)
    schedule = RangeSchedule(start, end, steps)
    rates = [schedule.lr_at(s, 0) for s in (0, 1, steps // 2, steps - 1)]
    assert all(math.isfinite(r) and r > 0 for r in rates)
    assert rates[0] == pytest.approx(start, rel=1e-9) and rates[-1] == pytest.approx(end, rel=1e-9)
    assert rates == sorted(rates)


@pytest.mark.parametrize("temperature", [TEMPERATURE_RANGE[0], 1.0, TEMPERATURE_RANGE[1]])
def test_sampling_at_the_temperature_bounds_stays_finite_on_extreme_float32_logits(temperature):
    big = float(np.finfo(np.float32).max)
    logits = np.array([big, -big, 0.0, big / 2], dtype=np.float64)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # an inf or a NaN would raise here
        picked = next_id(logits, temperature, None, np.random.default_rng(0))
    assert picked == 0  # ahead by 1.7e38 / T: certain at any temperature in the range
