"""The atomic writer's durability, held by the order of its system calls (a power cut can't be staged here).

A spy records every fsync (with the path its descriptor points at), write and replace; the contract is
write the temp -> fsync the temp -> rename it over the final name -> fsync the directory.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from backprop_cli.runs.atomic import append_line_durable, atomic_write_bytes


@pytest.fixture
def calls(monkeypatch):
    """Record os.write / os.fsync / os.replace calls in order, then do the real thing."""
    log: list[tuple[str, str]] = []
    real_write, real_fsync, real_replace = os.write, os.fsync, os.replace

    def name_of(fd: int) -> str:
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        return f"{kind}:{os.readlink(f'/proc/self/fd/{fd}')}"

    def write(fd, data):
        log.append(("write", name_of(fd)))
        return real_write(fd, data)

    def fsync(fd):
        log.append(("fsync", name_of(fd)))
        return real_fsync(fd)

    def replace(src, dst):
        log.append(("replace", f"{src} -> {dst}"))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return log


def test_atomic_write_fsyncs_the_temp_before_the_rename_and_the_directory_after(tmp_path, calls):
    final = tmp_path / "summary.json"
    atomic_write_bytes(final, b'{"status": "completed"}')
    assert final.read_bytes() == b'{"status": "completed"}'
    (replace_at,) = [i for i, (op, _) in enumerate(calls) if op == "replace"]
    temp = calls[replace_at][1].split(" -> ")[0]
    assert Path(temp).parent == tmp_path and Path(temp).name.startswith(".summary.json.tmp-")
    writes = [i for i, (op, what) in enumerate(calls) if op == "write" and what == f"file:{temp}"]
    temp_fsyncs = [i for i, (op, what) in enumerate(calls) if op == "fsync" and what == f"file:{temp}"]
    dir_fsyncs = [i for i, (op, what) in enumerate(calls) if op == "fsync" and what == f"dir:{tmp_path}"]
    assert writes and temp_fsyncs, calls
    assert max(writes) < temp_fsyncs[0] < replace_at, "the temp's data must be durable before it is renamed"
    assert dir_fsyncs and dir_fsyncs[0] > replace_at, "the rename itself must be made durable"


def test_appending_a_metrics_line_fsyncs_after_writing_and_a_new_file_syncs_its_directory(tmp_path, calls):
    log = tmp_path / "metrics.jsonl"
    append_line_durable(log, '{"epoch": 1}')
    ops = [(op, what) for op, what in calls]
    last_write = max(i for i, (op, what) in enumerate(ops) if op == "write" and what == f"file:{log}")
    file_fsync = [i for i, (op, what) in enumerate(ops) if op == "fsync" and what == f"file:{log}"]
    dir_fsync = [i for i, (op, what) in enumerate(ops) if op == "fsync" and what == f"dir:{tmp_path}"]
    assert file_fsync and file_fsync[0] > last_write
    assert dir_fsync and dir_fsync[0] > file_fsync[0]
    assert log.read_text() == '{"epoch": 1}\n'
