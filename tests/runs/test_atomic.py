"""The atomic writer in one process: whole files, no temps left, OSError as RunError."""

from __future__ import annotations

import os

import pytest

from backprop_cli.errors import RunError
from backprop_cli.runs.atomic import (
    append_line_durable,
    atomic_write_bytes,
    atomic_write_text,
    remove_stale_temps,
    temp_path_for,
)


def test_atomic_write_creates_then_replaces_a_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "summary.json"
    atomic_write_text(target, "old")
    atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert os.listdir(tmp_path) == ["summary.json"]


def test_a_temp_name_is_hidden_in_the_same_directory_and_never_matches_a_readers_glob(tmp_path):
    target = tmp_path / "last.safetensors"
    tmp = temp_path_for(target)
    tmp.write_bytes(b"partial")
    assert tmp.parent == tmp_path and tmp.name.startswith(".last.safetensors.tmp-")
    assert list(tmp_path.glob("*.safetensors")) == [] and list(tmp_path.glob("*.json")) == []


def test_writing_into_a_missing_directory_is_a_run_error_naming_the_file(tmp_path):
    target = tmp_path / "gone" / "summary.json"
    with pytest.raises(RunError, match=r"cannot write .*gone/summary\.json: No such file or directory") as info:
        atomic_write_text(target, "{}")
    assert info.value.exit_code == 1


def test_a_failed_rename_removes_the_temp_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "occupied"
    target.mkdir()
    (target / "inside").write_text("x")  # os.replace cannot put a file over a non-empty directory
    with pytest.raises(RunError, match="cannot write"):
        atomic_write_bytes(target, b"new")
    assert sorted(os.listdir(tmp_path)) == ["occupied"]
    assert (target / "inside").read_text() == "x"


def test_remove_stale_temps_deletes_only_temps_of_dead_writers(tmp_path):
    dead = tmp_path / ".last.safetensors.tmp-999999999-0a1b2c3d"
    mine = temp_path_for(tmp_path / "summary.json")
    alive = tmp_path / f".best.safetensors.tmp-{os.getppid()}-00ff00ff"  # pytest's parent still runs
    keep = [tmp_path / "last.safetensors", tmp_path / ".hidden", tmp_path / "x.tmp-1-ab"]
    for path in [dead, mine, alive, *keep]:
        path.write_bytes(b"x")
    removed = remove_stale_temps(tmp_path)
    assert sorted(removed) == sorted([dead, mine])
    assert sorted(tmp_path.iterdir()) == sorted([alive, *keep])


def test_remove_stale_temps_of_a_missing_directory_removes_nothing(tmp_path):
    assert remove_stale_temps(tmp_path / "missing") == []


def test_append_line_durable_adds_exactly_one_terminated_line(tmp_path):
    log = tmp_path / "metrics.jsonl"
    append_line_durable(log, '{"epoch": 1}')
    append_line_durable(log, '{"epoch": 2}')
    assert log.read_text() == '{"epoch": 1}\n{"epoch": 2}\n'


def test_append_line_durable_refuses_a_line_with_a_newline(tmp_path):
    with pytest.raises(ValueError):
        append_line_durable(tmp_path / "m.jsonl", "a\nb")


def test_append_line_durable_to_an_unwritable_path_is_a_run_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(RunError, match="cannot write .*file/metrics.jsonl: Not a directory"):
        append_line_durable(tmp_path / "file" / "metrics.jsonl", "{}")
