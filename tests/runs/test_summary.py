"""summary.json: written atomically as strict JSON, read tolerantly."""

from __future__ import annotations

import os

from backprop_cli.runs.summary import read_summary, write_summary


def test_a_summary_round_trips_with_null_for_non_finite_metrics(tmp_path):
    write_summary(tmp_path, {"status": "diverged", "best_val_loss": float("nan"), "epochs": 3})
    assert read_summary(tmp_path) == {"status": "diverged", "best_val_loss": None, "epochs": 3}
    assert "NaN" not in (tmp_path / "summary.json").read_text()


def test_rewriting_a_summary_replaces_the_file_and_leaves_no_temp(tmp_path):
    write_summary(tmp_path, {"status": "running"})
    write_summary(tmp_path, {"status": "completed"})
    assert read_summary(tmp_path) == {"status": "completed"}
    assert os.listdir(tmp_path) == ["summary.json"]


def test_reading_a_missing_or_damaged_summary_gives_none(tmp_path):
    assert read_summary(tmp_path) is None
    (tmp_path / "summary.json").write_text('{"status": "runn')
    assert read_summary(tmp_path) is None
    (tmp_path / "summary.json").write_text("[1, 2]")
    assert read_summary(tmp_path) is None
    (tmp_path / "summary.json").write_bytes(b"\xff\xfe")
    assert read_summary(tmp_path) is None
