"""Seeing a sweep: parallel coordinates and rung curves, parameter importance (an estimate, checked
on hand-made figures), and `runs compare SWEEP_DIR --top N`."""

from __future__ import annotations

import json

import pytest
from reliability.helpers import assert_user_error, in_process

from backprop_cli.many.importance import fanova_shares, simple_shares

from .conftest import run_sweep_here

GRID = [
    {"trial": i, "parameters": {"a": a, "b": b}} for i, (a, b) in enumerate((a, b) for a in (1, 2, 3) for b in "xy")
]


def test_main_effects_of_a_grid_are_each_parameters_share_of_the_variance_worked_by_hand():
    only_a = [{**row, "m": float(row["parameters"]["a"])} for row in GRID]
    assert simple_shares(only_a, ["a", "b"], "m") == {"a": 1.0, "b": 0.0}
    # m = a + 10 [b = y]: Var(a) = 2/3 and Var(10 [b = y]) = 25 over the grid, and they add
    additive = [{**row, "m": row["parameters"]["a"] + 10.0 * (row["parameters"]["b"] == "y")} for row in GRID]
    shares = simple_shares(additive, ["a", "b"], "m")
    assert shares["a"] == pytest.approx((2 / 3) / (2 / 3 + 25)) and shares["b"] == pytest.approx(25 / (2 / 3 + 25))
    assert simple_shares([{**GRID[0], "m": None}, {**GRID[1], "m": 1.0}], ["a", "b"], "m") == {"a": 0.0, "b": 0.0}


def test_fanova_through_optuna_gives_the_parameter_that_decides_the_metric_nearly_all_of_it():
    pytest.importorskip("optuna")
    pytest.importorskip("sklearn")
    from backprop_cli.many.tpe import distributions

    rows = [{**row, "m": float(row["parameters"]["a"]) ** 2} for row in GRID]
    shares = fanova_shares(rows, distributions({"a": [1, 2, 3], "b": ["x", "y"]}), "m")
    assert shares["a"] > 0.9 > shares["b"] and sum(shares.values()) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def halved(files, tmp_path_factory):
    return run_sweep_here(files / "halving.yaml", tmp_path_factory.mktemp("views"))


def test_plot_of_a_halving_sweep_draws_every_trial_on_parallel_axes_and_its_curve_with_the_rung_cuts(halved, tmp_path):
    pytest.importorskip("matplotlib")
    from backprop_cli.many.study import read_plan
    from backprop_cli.plot.study import _parallel_figure

    directory, rows = halved
    result = in_process("plot", directory, "-o", tmp_path / "p.png")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    parallel, curves = _parallel_figure(read_plan(directory), rows).axes
    assert len([line for line in parallel.lines if list(line.get_xdata()) == [0, 1]]) == len(rows)  # lr, val_loss
    drawn = [line for line in curves.lines if line.get_linestyle() == "-"]
    assert sorted(len(line.get_xdata()) for line in drawn) == [1, 1, 2, 4]  # each trial as far as its rungs took it
    assert sorted(line.get_xdata()[0] for line in curves.lines if line.get_linestyle() == ":") == [1, 2]


def test_importance_view_writes_its_picture_and_says_it_is_an_estimate(halved, tmp_path):
    pytest.importorskip("matplotlib")
    directory, _ = halved
    result = in_process("plot", directory, "--view", "importance", "-o", tmp_path / "i.png")
    assert result.returncode == 0, result.stderr
    assert "an estimate" in result.stderr and "optimizer.lr 1.00" in result.stderr
    assert_user_error(in_process("plot", directory, "--view", "boundaries"), 2, "unknown view 'boundaries' for a sweep")


def test_runs_compare_top_puts_a_sweeps_best_trials_side_by_side_best_first(halved):
    directory, rows = halved
    from backprop_cli.many.results import ranked

    result = in_process("runs", "compare", directory, "--top", "3", "--json")
    assert result.returncode == 0, result.stderr
    shown = [r["run"] for r in json.loads(result.stdout)["runs"]]
    best = ranked(rows, "val_loss", "min")[:3]
    assert [name.split("-")[1] for name in shown] == [f"{r['trial']:03d}" for r in best]
    assert_user_error(in_process("runs", "compare", rows[0]["run_dir"], rows[1]["run_dir"], "--top", "2"), 2,
                      "--top: --top picks the best trials of a sweep directory")  # fmt: skip
