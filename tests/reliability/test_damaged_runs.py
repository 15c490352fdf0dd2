"""Looking at runs survives a damaged run: one run's summary.json nested 100,000 deep, a
metrics.jsonl that is a directory, a `layers` field that is a string, a summary.json that is a FIFO, a
config.yaml that is an alias bomb, and a status or a stop reason that is rich markup (`ok[/]`) no longer
break `runs list|show|compare` or `plot` for every run: the damaged run is listed as damaged, the others
as usual. Then a property: any JSON in a run's summary and metrics ends in a listing, never an exception.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop_cli.plot.curves import available_metrics, runs_without_layer_stats
from backprop_cli.runs.compare import compare_runs
from backprop_cli.runs.describe import show_run
from backprop_cli.runs.listing import Run, run_row

from .helpers import backprop, in_process, limit_memory, run_all

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefg", "bcdefgh")
)


def _deep(run):
    (run / "summary.json").write_text("[" * 100_000 + "]" * 100_000)


def _metrics_dir(run):
    (run / "metrics.jsonl").unlink()
    (run / "metrics.jsonl").mkdir()


def _layers_text(run):
    lines = (run / "metrics.jsonl").read_text().splitlines()
    record = json.loads(lines[0])
    record["layers"] = "dense"
    (run / "metrics.jsonl").write_text("\n".join([json.dumps(record), *lines[1:]]) + "\n")


def _fifo(run):
    (run / "summary.json").unlink()
    os.mkfifo(run / "summary.json")


def _bomb(run):
    (run / "config.yaml").write_text(BOMB)


def _markup(run):
    summary = json.loads((run / "summary.json").read_text())
    summary.update(status="ok[/]", stop_reason="[bold]stopped[/] x[/]", warnings=["[red]w[/]"])
    (run / "summary.json").write_text(json.dumps(summary))


DAMAGES = {
    "deep": (_deep, "summary.json: not valid JSON"),
    "metrics-dir": (_metrics_dir, "metrics.jsonl: Is a directory"),
    "layers-text": (_layers_text, "metrics.jsonl line 1: `layers` is a str"),
    "fifo": (_fifo, "summary.json: is a FIFO"),
    "bomb": (_bomb, "config.yaml: the document expands to more than"),
}


@pytest.fixture(scope="module")
def runs_dir(reference, tmp_path_factory):
    base = tmp_path_factory.mktemp("damaged")
    good = shutil.copytree(reference("fast"), base / "good-20260101-120000-0000")
    for name, (damage, _) in DAMAGES.items():
        damage(shutil.copytree(good, base / f"{name}-20260101-120000-0000"))
    _markup(shutil.copytree(good, base / "markup-20260101-120000-0000"))
    return base


def test_runs_list_lists_each_damaged_run_as_damaged_and_the_good_one_as_usual(runs_dir):
    # real processes under a memory limit and a timeout: the FIFO must not hang them, the bomb not expand
    table = backprop("runs", "list", runs_dir, timeout=60, preexec_fn=limit_memory())
    rows = json.loads(backprop("runs", "list", runs_dir, "--json", timeout=60, preexec_fn=limit_memory()).stdout)
    assert table.returncode == 0, table.stderr
    assert "Traceback" not in table.stderr
    status = {row["run"].removesuffix("-20260101-120000-0000"): row["status"] for row in rows}
    assert status == {**dict.fromkeys(DAMAGES, "damaged"), "good": "completed", "markup": "ok[/]"}
    for name, (_, problem) in DAMAGES.items():
        assert f"note: {name}-20260101-120000-0000 is damaged: {problem}" in table.stderr
    assert "ok[/]" in table.stdout  # shown as written, not taken for markup


def test_plot_and_compare_of_every_damaged_run_beside_a_good_one_work(runs_dir, tmp_path):
    runs = sorted(runs_dir.iterdir())
    commands = [("plot", *runs, "-o", tmp_path / "p.png"), ("runs", "compare", *runs)]
    plot, compare = run_all(commands, timeout=60, preexec_fn=limit_memory(2**30))  # matplotlib and BLAS need more
    for result in (plot, compare):
        assert result.returncode == 0, result.stderr
        for name, (_, problem) in DAMAGES.items():
            assert f"note: {name}-20260101-120000-0000 is damaged: {problem}" in result.stderr
    assert (tmp_path / "p.png").stat().st_size > 0
    assert "damaged" in compare.stdout and "ok[/]" in compare.stdout


# the FIFO and the alias bomb: real processes only (above), so that a regression cannot hang or swamp pytest
@pytest.mark.parametrize("name", ["deep", "metrics-dir", "layers-text", "markup"])
def test_runs_show_and_compare_of_a_damaged_run_work_and_say_what_is_damaged(runs_dir, name):
    run, good = runs_dir / f"{name}-20260101-120000-0000", runs_dir / "good-20260101-120000-0000"
    show = in_process("runs", "show", run)
    compare = in_process("runs", "compare", good, run)
    for result in (show, compare):
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    if name == "markup":
        assert "ok[/]" in show.stdout and "[bold]stopped[/] x[/]" in show.stdout and "[red]w[/]" in show.stdout
    else:
        assert "damaged" in show.stdout and DAMAGES[name][1] in show.stdout


# ---- property: any JSON in a run's files ends in a listing ---------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)
SUMMARY_KEYS = ["status", "stop_reason", "epochs_run", "epochs", "best_epoch", "best", "final", "test", "warnings",
                "wall_time_s", "name"]  # fmt: skip
RECORD_KEYS = ["epoch", "layers", "warnings", "train_loss", "val_loss", "lr", "train_accuracy"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    summary=st.dictionaries(st.sampled_from(SUMMARY_KEYS), JSON, max_size=6),
    records=st.lists(st.dictionaries(st.sampled_from(RECORD_KEYS), JSON, max_size=5), max_size=4),
)
def test_any_json_in_summary_and_metrics_ends_in_a_listing_a_view_and_a_figure(tmp_path, summary, records):
    run = tmp_path / "r-20260101-120000-0000"
    (run / "checkpoints").mkdir(parents=True, exist_ok=True)
    (run / "config.yaml").write_text("name: r\ntraining: {epochs: 3, early_stopping: {monitor: val_loss}}\n")
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    damaged = Run(run)  # one Run: its config (the slow part to read) is read once
    json.dumps(run_row(damaged)), json.dumps(show_run(damaged))
    compare_runs([damaged, damaged])
    available_metrics([damaged]), runs_without_layer_stats([damaged])  # what plot reads of each record
