"""The same sweeps on a real Dask cluster (scheduler + two worker processes) and on the local pool."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from reliability.helpers import assert_same_run, environment, n_metric_lines, start, wait_until

from .conftest import by_trial, sweep, sweep_dir, trials_of


@pytest.fixture(scope="module")
def dask_grid(files, dask_cluster, tmp_path_factory) -> tuple[list[dict], Path]:
    """The 6-trial grid on the Dask cluster: (its ranked trials, its runs directory)."""
    runs = tmp_path_factory.mktemp("dask-grid")
    return trials_of(
        sweep(files / "grid.yaml", "--scheduler", dask_cluster.scheduler_address, "--runs-dir", runs)
    ), runs


def test_a_grid_on_a_dask_cluster_completes_ranks_and_reports_the_failed_trials(dask_grid):
    trials, runs = dask_grid
    assert sorted(t["trial"] for t in trials) == list(range(6))
    good = [t for t in trials if t["status"] == "completed"]
    bad = [t for t in trials if t["status"] == "failed"]
    assert [t["parameters"]["model.layers.1.units"] for t in good] == [3, 3, 3]
    assert trials == good + bad  # failed trials last
    for t in bad:  # found only once the data was loaded; the other trials ran on
        assert t["parameters"]["model.layers.1.units"] == 4
        assert "3 classes but the last layer has 4 units" in t["error"] and t["val_loss"] is None
    for t in good:  # the metric is the run's own best val_loss, read back from its run directory
        summary = json.loads((Path(t["run_dir"]) / "summary.json").read_text())
        assert t["val_loss"] == summary["best"]["val_loss"]
    assert [t["val_loss"] for t in good] == sorted(t["val_loss"] for t in good)  # mode auto: min for a loss
    rows = (sweep_dir(runs) / "results.jsonl").read_text().splitlines()
    assert len(rows) == 6 and (sweep_dir(runs) / "results.csv").read_text().count("\n") == 7


def test_the_same_grid_on_the_local_pool_gives_the_same_bits_per_trial(files, dask_grid, tmp_path):
    on_dask, _ = dask_grid
    local = trials_of(sweep(files / "grid.yaml", "--workers", "2", "--runs-dir", tmp_path / "l"))
    assert [t["trial"] for t in on_dask] == [t["trial"] for t in local]
    for a, b in zip(by_trial(on_dask).values(), by_trial(local).values()):
        assert (a["status"], a["val_loss"]) == (b["status"], b["val_loss"])
        if a["status"] == "completed":
            assert_same_run(Path(b["run_dir"]), Path(a["run_dir"]))


def test_a_worker_killed_mid_trial_costs_one_retry_and_no_result(files, dask_cluster, local_slow, tmp_path):
    trials, attempts = kill_a_worker_mid_trial(files, tmp_path, "--scheduler", dask_cluster.scheduler_address)
    assert trials[0]["attempts"] == 2 and trials[1]["attempts"] == 1
    assert "ended" not in attempts[0] and "ended" in attempts[1]
    assert_same_as_reference(trials, local_slow)


def test_a_local_worker_killed_mid_trial_breaks_the_pool_and_every_running_trial_continues(files, local_slow, tmp_path):
    trials, attempts = kill_a_worker_mid_trial(files, tmp_path, "--workers", "2")
    assert trials[0]["attempts"] == 2 and "ended" not in attempts[0]
    assert_same_as_reference(trials, local_slow)  # the other trial, stopped with the pool, resumed too


def kill_a_worker_mid_trial(files, runs_dir, *where):
    """Run the slow sweep, SIGKILL the worker process of trial 0 after its second epoch; (trials, its attempts)."""
    proc = start("sweep", files / "slow.yaml", *where, "--runs-dir", runs_dir, "--json", stdout=-1, env=environment())
    plan = wait_until(lambda: _plan(runs_dir), what="the sweep's plan")
    run = sweep_dir(runs_dir) / plan["trials"][0]["runs"][0]
    wait_until(lambda: n_metric_lines(run) >= 2, timeout=60, what="two epochs of trial 0")
    assert n_metric_lines(run) < 6, "the trial ended before the kill"
    os.kill(json.loads((run / ".attempts.json").read_text())[-1]["pid"], signal.SIGKILL)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    trials = by_trial(json.loads(out)["trials"])
    assert [t["status"] for t in trials.values()] == ["completed", "completed"]
    assert len((sweep_dir(runs_dir) / "results.jsonl").read_text().splitlines()) == 2  # none for the lost attempt
    return trials, json.loads((run / ".attempts.json").read_text())


def assert_same_as_reference(trials: dict[int, dict], reference_dir: Path) -> None:
    """Resumed from their last checkpoints: bit for bit the trials of a sweep never interrupted."""
    reference = {t["trial"]: t for t in map(json.loads, (reference_dir / "results.jsonl").read_text().splitlines())}
    for trial, t in trials.items():
        assert t["val_accuracy"] == reference[trial]["val_accuracy"]
        assert_same_run(Path(reference[trial]["run_dir"]), Path(t["run_dir"]))


def _plan(runs_dir):
    try:
        return json.loads((sweep_dir(runs_dir) / "plan.json").read_text())
    except (ValueError, OSError):
        return None


def test_a_worker_that_cannot_read_the_data_stops_the_sweep_before_any_trial(files, dask_cluster, tmp_path):
    config = tmp_path / "csv.yaml"
    config.write_text(
        files.joinpath("iris.yaml").read_text().replace("{dataset: iris,", "{path: gone.csv, target: species,")
    )
    (tmp_path / "s.yaml").write_text("base: csv.yaml\nparameters: {optimizer.lr: [0.1, 0.2]}\n")
    for where in (("--scheduler", dask_cluster.scheduler_address), ("--workers", "2")):
        result = sweep(tmp_path / "s.yaml", *where, "--runs-dir", tmp_path / "runs")
        assert result.returncode == 2, result.stderr
        assert f"cannot read {tmp_path / 'gone.csv'}" in result.stderr and "shared filesystem" in result.stderr
        assert "Traceback" not in result.stderr


def _rung_record(directory: Path) -> list[tuple]:
    """Every rung result (trial, rung, figure) and promotion, in a canonical order."""
    lines = [json.loads(line) for line in (directory / "rungs.jsonl").read_text().splitlines()]
    results = sorted((r["trial"], r["rung"], r["val_loss"], r["status"]) for r in lines if "promoted" not in r)
    return results + sorted(("promoted", r["promoted"], r["rung"]) for r in lines if "promoted" in r)


def test_successive_halving_promotes_and_ranks_alike_on_the_local_pool_and_on_a_dask_cluster(
    files, dask_cluster, tmp_path
):
    on_dask = trials_of(sweep(files / "halving.yaml", "--scheduler", dask_cluster.scheduler_address,
                              "--runs-dir", tmp_path / "d"))  # fmt: skip
    local = trials_of(sweep(files / "halving.yaml", "--workers", "2", "--runs-dir", tmp_path / "l"))
    assert [(t["trial"], t["rung"], t["val_loss"]) for t in on_dask] == [
        (t["trial"], t["rung"], t["val_loss"]) for t in local
    ]
    assert _rung_record(sweep_dir(tmp_path / "d")) == _rung_record(sweep_dir(tmp_path / "l"))
    assert_same_run(Path(local[0]["run_dir"]), Path(on_dask[0]["run_dir"]))  # the winner, bit for bit


def test_a_scheduler_file_of_a_real_scheduler_runs_the_sweep_on_it(files, dask_cluster, tmp_path):
    host_port = dask_cluster.scheduler_address.removeprefix("tcp://")
    (tmp_path / "sched.json").write_text(json.dumps({"type": "Scheduler", "address": host_port}))
    (tmp_path / "one.yaml").write_text(f"base: {files / 'iris.yaml'}\nparameters: {{optimizer.lr: [0.01]}}\n")
    result = sweep(tmp_path / "one.yaml", "--scheduler-file", tmp_path / "sched.json", "--runs-dir", tmp_path / "r")
    assert [t["status"] for t in trials_of(result)] == ["completed"]
    assert f"on Dask cluster at {dask_cluster.scheduler_address} (2 worker(s)" in result.stderr


PLUGIN_BASE = """\
name: plug
seed: 0
data: {dataset: iris, validation_split: 0.2}
model:
  layers:
    - {type: dense, units: 8}
    - {type: plugin, path: swish.py, class: LearnedSwish, args: {beta: 1.0}}
    - {type: dense, units: 3}
optimizer: {type: adam, lr: 0.03}
training: {epochs: 3, batch_size: 16}
"""


def test_a_plugin_layer_trains_on_dask_workers_that_get_its_source_with_the_task(dask_cluster, tmp_path):
    import threading

    from backprop_cli.cli.backends import backend
    from backprop_cli.many.execute import run_study
    from backprop_cli.many.plans import new_sweep
    from backprop_cli.many.spec import load_sweep

    plugin = tmp_path / "swish.py"
    plugin.write_text((Path(__file__).parents[1] / "nn" / "plugins" / "learned_swish.py").read_text())
    (tmp_path / "base.yaml").write_text(PLUGIN_BASE)
    (tmp_path / "sweep.yaml").write_text("base: base.yaml\nparameters:\n  model.layers.1.args.beta: [0.5, 2.0]\n")
    with backend(None, dask_cluster.scheduler_address, None, 1) as chosen:
        directory = new_sweep(load_sweep(tmp_path / "sweep.yaml"), tmp_path / "runs", chosen.threads)
        source = plugin.read_text()
        plugin.unlink()  # no worker can read the file: each gets its text with the task
        rows, stopped = run_study(directory, chosen, threading.Event())
    assert not stopped and sorted(r["status"] for r in rows) == ["completed", "completed"], rows
    for row in rows:
        run = Path(row["run_dir"])
        assert (run / "plugins" / "swish.py").read_text() == source
        last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
        assert last["layers"]["1"]["grad_norm"] > 0 and last["epoch"] == 3
