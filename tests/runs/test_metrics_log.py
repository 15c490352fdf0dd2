"""metrics.jsonl: strict JSON lines, torn last lines skipped, repaired to match a checkpoint."""

from __future__ import annotations

import json
import os

from backprop_cli.runs.metrics_log import append_metrics, read_metrics, repair_metrics


def _strict(line: str):
    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(line, parse_constant=refuse)


def _log(tmp_path, epochs, tail: str = ""):
    path = tmp_path / "metrics.jsonl"
    for epoch in epochs:
        append_metrics(path, {"epoch": epoch, "train_loss": 1.0 / epoch})
    with open(path, "a") as f:
        f.write(tail)
    return path


def test_appended_records_are_strict_json_lines_with_null_for_nan_and_inf(tmp_path):
    path = tmp_path / "metrics.jsonl"
    append_metrics(path, {"epoch": 1, "train_loss": float("nan"), "val_loss": float("inf"), "layers": [{"g": 1.5}]})
    [line] = path.read_text().splitlines()
    assert _strict(line) == {"epoch": 1, "train_loss": None, "val_loss": None, "layers": [{"g": 1.5}]}


def test_reading_skips_a_torn_last_line_without_an_exception(tmp_path):
    path = _log(tmp_path, [1, 2], tail='{"epoch": 3, "train_lo')
    assert [r["epoch"] for r in read_metrics(path)] == [1, 2]


def test_reading_skips_a_complete_json_line_that_lacks_its_newline(tmp_path):
    path = _log(tmp_path, [1], tail='{"epoch": 2}')  # the newline is part of the write: still torn
    assert [r["epoch"] for r in read_metrics(path)] == [1]


def test_reading_a_missing_or_empty_log_gives_no_records(tmp_path):
    assert read_metrics(tmp_path / "missing.jsonl") == []
    (tmp_path / "empty.jsonl").write_text("")
    assert read_metrics(tmp_path / "empty.jsonl") == []


def test_repair_drops_a_torn_line_and_epochs_after_the_checkpoint(tmp_path):
    path = _log(tmp_path, [1, 2, 3, 4, 5], tail='{"epo')
    kept = repair_metrics(path, checkpoint_epoch=3, checkpoint_record={"epoch": 3, "train_loss": 1.0 / 3})
    assert [r["epoch"] for r in kept] == [1, 2, 3]
    (tmp_path / "fresh").mkdir()
    assert path.read_text() == _log(tmp_path / "fresh", [1, 2, 3]).read_text()  # as if never torn


def test_repair_re_appends_the_checkpoints_own_line_when_it_was_lost(tmp_path):
    path = _log(tmp_path, [1, 2], tail='{"epoch": 3, "train_')  # killed while appending epoch 3
    repair_metrics(path, checkpoint_epoch=3, checkpoint_record={"epoch": 3, "train_loss": float("nan")})
    lines = path.read_text().splitlines()
    assert [_strict(line)["epoch"] for line in lines] == [1, 2, 3]
    assert _strict(lines[-1]) == {"epoch": 3, "train_loss": None}


def test_repair_keeps_one_line_per_epoch(tmp_path):
    path = _log(tmp_path, [1, 2, 2, 3])
    assert [r["epoch"] for r in repair_metrics(path, 3, {"epoch": 3, "train_loss": 0.0})] == [1, 2, 3]


def test_repair_of_a_log_that_already_matches_does_not_touch_the_file(tmp_path):
    path = _log(tmp_path, [1, 2, 3])
    inode, content = os.stat(path).st_ino, path.read_bytes()
    repair_metrics(path, 3, {"epoch": 3, "train_loss": 1.0 / 3})
    assert os.stat(path).st_ino == inode and path.read_bytes() == content


def test_repair_without_a_checkpoint_empties_the_log_of_every_epoch(tmp_path):
    path = _log(tmp_path, [1, 2])
    assert repair_metrics(path, 0, None) == []
    assert path.read_text() == ""
    assert repair_metrics(tmp_path / "missing.jsonl", 0, None) == []
    assert not (tmp_path / "missing.jsonl").exists()
