"""Logs other tools read: TensorBoard events and metrics.csv hold the numbers of metrics.jsonl."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys

import pytest
import yaml

from backprop_cli.train.csv_log import flat_record, metrics_csv_text
from tests.ci_guard import skip_unless_installed

from .helpers import backprop, ok, train_run

pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")  # inside tbparse, with pandas 3

CONFIG = """
name: logs
seed: 1
data: {dataset: digits, validation_split: 0.2}
model:
  layers:
    - {type: dense, units: 16, activation: relu}
    - {type: residual, layers: [{type: dense, units: 16, activation: tanh}]}
    - {type: dense, units: 10}
training: {epochs: 3, batch_size: 128}
diagnostics: {monitor_every_n_steps: 5}
output: {csv: true, tensorboard: true}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    skip_unless_installed("tensorboardX")  # the run imports it, not this process (it sets CRC32C_SW_MODE here)
    return train_run(tmp_path_factory.mktemp("logs"), "logs", CONFIG)


@pytest.fixture(scope="module")
def records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def events(run):
    tbparse = pytest.importorskip("tbparse")
    return tbparse.SummaryReader(str(run), extra_columns={"sum_squares", "num"})


def test_tensorboard_scalars_are_the_numbers_of_metrics_jsonl(records, events):
    logged = {(row.tag, row.step): row.value for row in events.scalars.itertuples()}
    expected = {}
    for record in records:
        for key, value in flat_record(record).items():
            if key != "step" and isinstance(value, (int, float)):
                tag = key if not key.startswith("layers.") else "layers/{}/{}".format(*key[7:].rsplit(".", 1))
                expected[(tag, record["step"])] = value
    assert {"train_loss", "val_accuracy", "lr", "grad_norm", "layers/1.0/grad_norm"} <= {t for t, _ in expected}
    assert set(logged) == set(expected)
    for key, value in expected.items():
        assert logged[key] == pytest.approx(value, rel=1e-6), key  # stored as float32


def test_histograms_come_at_the_monitors_cadence_and_their_norms_are_the_monitors(records, events):
    hist = events.histograms
    norms = {(row.tag, row.step): math.sqrt(row.sum_squares) for row in hist.itertuples()}
    samples = [(r["step"], r["layers"]) for r in records]  # each epoch's last step
    samples += [(s["step"], s["layers"]) for r in records for s in r.get("layers_by_step", [])]  # every 5 steps
    assert sorted({step for _, step in norms}) == sorted(step for step, _ in samples)
    assert len(samples) > len(records)
    for step, layers in samples:
        for name, stats in layers.items():
            assert norms[(f"grads/{name}", step)] == pytest.approx(stats["grad_norm"], rel=1e-6)
            assert norms[(f"weights/{name}", step)] == pytest.approx(stats["weight_norm"], rel=1e-6)
    assert set(hist.tag) == {f"{kind}/{name}" for kind in ("grads", "weights") for name in ("0", "1.0", "2")}


def test_the_resolved_config_is_logged_as_text(run, events):
    (text,) = events.text[events.text.tag == "config"].value
    assert text.startswith("```yaml\n") and text.endswith("```")
    assert yaml.safe_load(text[len("```yaml\n") : -3]) == yaml.safe_load((run / "config.yaml").read_text())


def test_metrics_csv_has_one_flat_row_per_epoch_with_the_jsonl_numbers(run, records):
    with open(run / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(records) == 3
    assert "layers.0.dead_fraction" in rows[0] and "layers.1.0.saturated_fraction" in rows[0]
    assert "warnings" not in rows[0] and "layers_by_step" not in rows[0]  # lists stay in metrics.jsonl
    for row, record in zip(rows, records):
        for key, value in flat_record(record).items():
            assert row[key] == ("" if value is None else str(value) if isinstance(value, int) else repr(value))
            if isinstance(value, float):
                assert float(row[key]) == value  # exactly: repr round-trips


def test_runs_export_writes_the_same_csv_for_a_past_run(run, tmp_path):
    written = (run / "metrics.csv").read_text()
    target = tmp_path / "past.csv"
    assert ok(backprop("runs", "export", run, "--format", "csv", "-o", target)) == str(target)
    assert target.read_text() == written
    (run / "metrics.csv").unlink()
    assert ok(backprop("runs", "export", run)) == str(run / "metrics.csv")
    assert (run / "metrics.csv").read_text() == written


def test_runs_export_refuses_what_is_not_a_run_or_not_csv(run, tmp_path):
    result = backprop("runs", "export", tmp_path)
    assert result.returncode == 2 and "is not a run directory" in result.stderr.decode()
    result = backprop("runs", "export", run, "--format", "parquet")
    assert result.returncode == 2 and "unknown format 'parquet'" in result.stderr.decode()


def test_csv_cells_are_quoted_and_missing_values_empty():
    text = metrics_csv_text([{"epoch": 1, "note": 'a,"b"', "val_loss": None}, {"epoch": 2, "extra": 0.5}])
    assert text == 'epoch,note,val_loss,extra\n1,"a,""b""",,\n2,,,0.5\n'


def test_tensorboard_without_tensorboardx_is_refused_before_a_run_directory_exists(tmp_path):
    fake = tmp_path / "site" / "tensorboardX"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('tensorboardX is not installed')\n")
    (tmp_path / "c.yaml").write_text(CONFIG)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path / 'site'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = subprocess.run([sys.executable, "-m", "backprop_cli", "train", str(tmp_path / "c.yaml"), "--runs-dir",
                             str(tmp_path / "runs")], capture_output=True, text=True, env=env)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "output.tensorboard needs the tensorboardX package" in result.stderr
    assert "pip install 'backprop-cli[tensorboard]'" in result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_tensorboardx_is_imported_without_pytorch_which_stays_importable():
    """tensorboardX imports torch whenever it is installed (~2 s of every run with TensorBoard on)."""
    pytest.importorskip("tensorboardX")
    probe = (
        "import sys\n"
        "from backprop_cli.train.log_writers import require_tensorboardx\n"
        "print(require_tensorboardx().__name__, 'torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["SummaryWriter", "False"]  # neither imported nor left hidden (a None entry)


def test_a_resumed_run_keeps_one_csv_row_and_one_scalar_per_epoch(tmp_path):
    pytest.importorskip("tensorboardX")
    tbparse = pytest.importorskip("tbparse")
    run = train_run(tmp_path, "short", CONFIG.replace("epochs: 3", "epochs: 2"))
    ok(backprop("train", "--resume", run, "--set", "training.epochs=3", "--quiet"))
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert (run / "metrics.csv").read_text() == metrics_csv_text(records)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    scalars = tbparse.SummaryReader(str(run)).scalars
    losses = scalars[scalars.tag == "train_loss"]
    assert sorted(losses.step) == [r["step"] for r in records]  # two event files, no step twice
    assert list(losses.sort_values("step").value) == pytest.approx([r["train_loss"] for r in records], rel=1e-6)
    texts = tbparse.SummaryReader(str(run)).text
    assert list(texts.tag) == ["config"]  # once, not again on resume


def _damaged_copy(run, tmp_path, edit) -> tuple:
    import shutil

    copy = tmp_path / run.name
    shutil.copytree(run, copy)
    lines = (copy / "metrics.jsonl").read_text().splitlines(keepends=True)
    (copy / "metrics.jsonl").write_text("".join(edit(lines)))
    return copy, [json.loads(line) for line in lines]


@pytest.mark.parametrize(
    "edit, kept, notes",
    [
        (
            lambda ls: [ls[0], '{"epoch": 2, "train_l\n', ls[2]],
            [1, 3],
            ["skipped metrics.jsonl line 2: ", "epoch(s) 2 of the 3 run have no record: the CSV has 2 row(s), not 3"],
        ),
        (
            lambda ls: [ls[0], "[1, 2]\n", "\x00\x01\n", ls[2]],
            [1, 3],
            [
                "skipped metrics.jsonl line 2: not a JSON object",
                "skipped metrics.jsonl line 3",
                "epoch(s) 2 of the 3 run",
            ],
        ),
        (lambda ls: [ls[0]], [1], ["epoch(s) 2-3 of the 3 run have no record: the CSV has 1 row(s), not 3"]),
        (lambda ls: ls, [1, 2, 3], []),
    ],
    ids=["torn-middle-line", "not-objects", "lines-lost", "whole"],
)
def test_runs_export_of_a_damaged_log_says_what_the_csv_lacks(run, tmp_path, edit, kept, notes):
    copy, records = _damaged_copy(run, tmp_path, edit)
    target = tmp_path / "out.csv"
    result = backprop("runs", "export", copy, "-o", target)
    assert ok(result) == str(target)
    assert target.read_text() == metrics_csv_text([r for r in records if r["epoch"] in kept])
    stderr = result.stderr.decode()
    assert [line for line in stderr.splitlines() if line.startswith(f"note: {copy}: ")] == stderr.splitlines()
    assert len(stderr.splitlines()) == len(notes) and all(n in stderr for n in notes), stderr


def test_runs_export_of_a_log_with_no_whole_record_is_refused_and_writes_nothing(run, tmp_path):
    copy, _ = _damaged_copy(run, tmp_path, lambda ls: ["garbage\n", "{]\n"])
    result = backprop("runs", "export", copy, "-o", tmp_path / "out.csv")
    assert result.returncode == 2 and "metrics.jsonl holds no readable epoch record" in result.stderr.decode()
    assert not (tmp_path / "out.csv").exists()


def test_tensorboards_own_reader_keeps_every_epoch_and_histogram_across_a_resume(tmp_path):
    """TensorBoard's EventAccumulator honours the resumed writer's purge marker (tbparse ignores it): every event
    at a step after the checkpoint is dropped, so the marker must sit at the step after it, not on it."""
    pytest.importorskip("tensorboardX")
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    run = train_run(tmp_path, "short", CONFIG.replace("epochs: 3", "epochs: 2"))
    first = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    ok(backprop("train", "--resume", run, "--set", "training.epochs=3", "--quiet"))
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    events = accumulator.EventAccumulator(str(run), size_guidance={"scalars": 0, "histograms": 0})
    events.Reload()
    losses = events.Scalars("train_loss")
    assert [e.step for e in losses] == [r["step"] for r in records]  # the epoch before the resume is still there
    assert [e.value for e in losses] == pytest.approx([r["train_loss"] for r in records], rel=1e-6)
    sampled = sorted({r["step"] for r in records} | {s["step"] for r in records for s in r.get("layers_by_step", [])})
    assert [e.step for e in events.Histograms("grads/0")] == sampled
    assert first[-1]["step"] in sampled and records[-1]["step"] > first[-1]["step"]
