"""Successive halving: the rungs, who goes on, and a promoted trial that ends bit-identical to a run
trained straight to max_epochs (it continues from its own step-exact checkpoint)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from reliability.helpers import assert_same_run, in_process, state_bytes

from backprop_cli.many.halving import best_first, keep_count, promotable, promote_synchronously, rung_epochs

from .conftest import run_sweep_here


@pytest.mark.parametrize(
    "low, high, eta, expected",
    [(1, 27, 3, [1, 3, 9, 27]), (2, 20, 3, [2, 6, 18, 20]), (1, 4, 2, [1, 2, 4]), (3, 4, 3, [3, 4])],
)
def test_rungs_grow_by_the_reduction_factor_and_end_at_max_epochs(low, high, eta, expected):
    assert rung_epochs(low, high, eta) == expected


def test_a_rung_keeps_its_best_share_ties_to_the_lower_trial_and_never_a_failed_one():
    assert [keep_count(n, 3) for n in (27, 9, 3, 2, 1, 10)] == [9, 3, 1, 1, 1, 3]
    values = {0: 0.5, 1: 0.2, 2: None, 3: 0.2, 4: 0.9, 5: float("nan")}
    assert best_first(values, "min") == [1, 3, 0, 4]
    assert best_first(values, "max") == [4, 0, 1, 3]
    assert promote_synchronously(values, 3, "min") == [1, 3]  # 6 // 3 = 2 go on: the tie goes to trial 1 first
    assert promote_synchronously({0: None, 1: None}, 2, "min") == []


def test_asha_promotes_from_a_rung_once_a_trial_is_in_its_top_share_so_far():
    assert promotable({0: 0.3, 1: 0.1}, set(), 3, "min") is None  # 2 results: top 0
    assert promotable({0: 0.3, 1: 0.1, 2: 0.2}, set(), 3, "min") == 1
    assert promotable({0: 0.3, 1: 0.1, 2: 0.2}, {1}, 3, "min") is None
    assert promotable({0: 0.3, 1: 0.1, 2: 0.2, 3: 0.0, 4: 0.5, 5: 0.4}, {1}, 3, "min") == 3


@pytest.fixture(scope="module")
def halved(files, tmp_path_factory) -> tuple[Path, list[dict]]:
    return run_sweep_here(files / "halving.yaml", tmp_path_factory.mktemp("halving"))


def test_synchronous_halving_runs_4_then_2_then_1_trials_and_ranks_by_the_highest_rung(halved):
    directory, rows = halved
    by_trial = {row["trial"]: row for row in rows}
    assert sorted(by_trial) == [0, 1, 2, 3]
    rungs = [json.loads(line) for line in (directory / "rungs.jsonl").read_text().splitlines()]
    results = [(r["rung"], r["trial"]) for r in rungs if "promoted" not in r]
    assert sorted(k for k, _ in results) == [0, 0, 0, 0, 1, 1, 2]
    for k in (0, 1):  # each rung's decision: the best half of it, by the metric at that rung
        reported = {t: r["val_loss"] for r in rungs if r.get("rung") == k and "promoted" not in r for t in [r["trial"]]}
        went_on = sorted(t for kk, t in results if kk == k + 1)
        assert went_on == sorted(sorted(reported, key=lambda t: reported[t])[: len(reported) // 2])
    winner = next(r for r in rows if r["rung"] == 2)
    assert [r["trial"] for r in sorted(rows, key=lambda r: -r["rung"])][:1] == [winner["trial"]]
    assert winner["status"] == "completed" and winner["epochs"] == 4
    assert [h["epochs"] for h in winner["rungs"]] == [1, 2, 4]
    losers = [r for r in rows if r["rung"] < 2]
    assert all(r["status"] == "paused" and r["epochs"] == [1, 2][r["rung"]] for r in losers)
    summaries = [json.loads((Path(r["run_dir"]) / "summary.json").read_text()) for r in losers]
    assert all(s["status"] == "paused" and s["epochs"] == 4 for s in summaries)  # paused on the way to 4


def test_a_promoted_trial_ends_bit_identical_to_a_straight_run_to_max_epochs(files, halved, tmp_path):
    directory, rows = halved
    winner = next(r for r in rows if r["rung"] == 2)
    lr = winner["parameters"]["optimizer.lr"]
    (tmp_path / "straight.yaml").write_text(
        f"base: {files / 'noisy.yaml'}\nparameters: {{optimizer.lr: [{lr!r}], training.epochs: [4]}}\n"
    )
    _, (straight,) = run_sweep_here(tmp_path / "straight.yaml", tmp_path / "runs")
    assert straight["status"] == "completed" and straight["val_loss"] == winner["val_loss"]
    assert_same_run(Path(straight["run_dir"]), Path(winner["run_dir"]))
    best = lambda row: state_bytes(Path(row["run_dir"]) / "checkpoints" / "best.safetensors")  # noqa: E731
    assert best(straight) == best(winner)


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "schedule: {type: successive_halving, min_epochs: 9, max_epochs: 3}\n",
            "schedule: min_epochs (9) must be below max_epochs (3)",
        ),
        (
            "schedule: {type: successive_halving, min_epochs: 1, max_epochs: 9, reduction_factor: 1}\n",
            "schedule.reduction_factor: must be >= 2",
        ),
        ("repeats: 0\n", "repeats: must be >= 1"),
        (
            "metric: test_accuracy\nschedule: {type: asha, min_epochs: 1, max_epochs: 9}\n",
            "metric: successive halving compares trials at each rung by a per-epoch metric; test_accuracy",
        ),
    ],
)
def test_a_bad_schedule_or_repeats_is_one_message_naming_its_line(files, tmp_path, text, message):
    path = tmp_path / "s.yaml"
    path.write_text(f"base: {files / 'iris.yaml'}\nparameters: {{optimizer.lr: [0.1, 0.2, 0.3]}}\n{text}")
    result = in_process("sweep", path, "--runs-dir", tmp_path / "runs")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"s.yaml:3: {message}" in result.stderr, result.stderr
    assert not (tmp_path / "runs").exists()


def test_halving_a_grid_of_one_configuration_is_refused_naming_the_schedule(files, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        f"base: {files / 'iris.yaml'}\nmethod: grid\nparameters: {{optimizer.lr: [0.1]}}\n"
        "schedule: {type: successive_halving, min_epochs: 1, max_epochs: 9}\n"
    )
    result = in_process("sweep", path, "--runs-dir", tmp_path / "runs")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    expected = "successive halving keeps the best 1/3 at each rung: it needs at least 3 configurations"
    assert f"s.yaml:4: {expected}, and this grid has 1" in result.stderr


def test_repeats_train_each_configuration_with_consecutive_seeds_and_rank_by_their_mean(files, tmp_path):
    (tmp_path / "r.yaml").write_text(
        f"base: {files / 'iris.yaml'}\nparameters: {{optimizer.lr: [0.01, 0.03]}}\nmetric: val_loss\nrepeats: 3\n"
    )
    directory, rows = run_sweep_here(tmp_path / "r.yaml", tmp_path / "runs")
    for row in rows:
        runs = [Path(r["run_dir"]) for r in row["repeats"]]
        assert [yaml.safe_load((p / "config.yaml").read_text())["seed"] for p in runs] == [0, 1, 2]
    for row in rows[:1]:
        runs = [Path(r["run_dir"]) for r in row["repeats"]]
        alone = []
        for seed, run in enumerate(runs):  # each repeat is the run `train --set seed=S` makes, on its own
            lr = row["parameters"]["optimizer.lr"]
            (tmp_path / f"one-{seed}.yaml").write_text(
                f"base: {files / 'iris.yaml'}\nparameters: {{optimizer.lr: [{lr}], seed: [{seed}]}}\n"
            )
            _, (single,) = run_sweep_here(tmp_path / f"one-{seed}.yaml", tmp_path / f"alone-{seed}")
            assert_same_run(Path(single["run_dir"]), run)
            alone.append(single["val_loss"])
        assert row["val_loss"] == pytest.approx(np.mean(alone), rel=1e-12)
        assert row["val_loss_std"] == pytest.approx(np.std(alone), rel=1e-12)
        assert [r["val_loss"] for r in row["repeats"]] == alone
    assert rows[0]["val_loss"] != rows[1]["val_loss"]


def test_asha_promotes_each_trial_when_it_is_in_the_top_share_of_its_rung_so_far(files, tmp_path):
    (tmp_path / "asha.yaml").write_text(
        f"base: {files / 'noisy.yaml'}\nmethod: random\ntrials: 9\nseed: 2\nmetric: val_loss\n"
        "parameters: {optimizer.lr: {log_uniform: [0.0003, 0.1]}}\n"
        "schedule: {type: asha, min_epochs: 1, max_epochs: 9, reduction_factor: 3}\n"
    )
    directory, rows = run_sweep_here(tmp_path / "asha.yaml", tmp_path / "runs")
    assert sorted(r["trial"] for r in rows) == list(range(9))
    seen: dict[int, dict[int, float]] = {0: {}, 1: {}, 2: {}}
    promotions = 0
    for line in map(json.loads, (directory / "rungs.jsonl").read_text().splitlines()):  # in the order it happened
        if "promoted" in line:
            below = seen[line["rung"] - 1]
            top = sorted(below, key=below.get)[: len(below) // 3]
            assert line["promoted"] in top, (line, below)
            promotions += 1
        else:
            seen[line["rung"]][line["trial"]] = line["val_loss"]
    assert promotions >= 3 and len(seen[0]) == 9 and seen[2]
    assert {r["trial"] for r in rows if r["rung"] == 2} == set(seen[2])


def test_halving_stopped_between_rungs_and_resumed_decides_and_ends_as_the_uninterrupted_sweep(files, halved, tmp_path):
    import threading

    from backprop_cli.many.execute import run_study
    from backprop_cli.many.plans import new_sweep
    from backprop_cli.many.spec import load_sweep

    from .conftest import thread_backend

    directory = new_sweep(load_sweep(files / "halving.yaml"), tmp_path, threads=1)
    stop = threading.Event()
    rows, stopped = run_study(directory, thread_backend(), stop, on_rung=lambda *decided: stop.set())
    assert stopped and len(rows) == 2  # rung 0 decided (two trials out), then stopped before rung 1 ran
    rows, stopped = run_study(directory, thread_backend(), threading.Event())
    reference_dir, reference = halved
    key = lambda r: (r["trial"], r["rung"], r["val_loss"], r["status"], r["epochs"])  # noqa: E731
    assert not stopped and sorted(map(key, rows)) == sorted(map(key, reference))
    winner = next(r for r in rows if r["rung"] == 2)
    assert_same_run(Path(next(r for r in reference if r["rung"] == 2)["run_dir"]), Path(winner["run_dir"]))
