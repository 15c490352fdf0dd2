"""The run a worker executes: its refusal when it cannot see the sweep, and its stop file."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from backprop_cli.many.task import StopFile, Task, WorkerAccessError, access_problems, run_task


def test_a_worker_that_cannot_see_the_run_directory_says_so_across_the_process_boundary(tmp_path):
    task = Task(str(tmp_path / "elsewhere" / "trial-000"), 1, str(tmp_path / ".stop"))
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        with pytest.raises(WorkerAccessError) as caught:
            pool.submit(run_task, task).result(timeout=120)
    assert "cannot write" in str(caught.value) and "shared filesystem" in str(caught.value)


def test_access_problems_name_each_path_a_worker_cannot_use(tmp_path):
    (tmp_path / "data.csv").write_text("a\n1\n")
    assert access_problems([str(tmp_path)], [str(tmp_path / "data.csv")]) == []
    problems = access_problems([str(tmp_path / "no")], [str(tmp_path / "gone.csv")])
    assert [p.split()[-1] for p in problems] == [str(tmp_path / "no"), str(tmp_path / "gone.csv")]


class Recorder:
    """What the loop's trainer offers a callback: request_stop(reason, status)."""

    def __init__(self):
        self.requests = []

    def request_stop(self, reason, status):
        self.requests.append(status)


def test_the_stop_file_stops_the_run_once_it_exists_checked_at_most_every_fifth_of_a_second(tmp_path):
    stop, trainer = StopFile(str(tmp_path / ".stop")), Recorder()
    stop.on_batch_end(trainer, 0.5)
    (tmp_path / ".stop").touch()
    stop.on_batch_end(trainer, 0.5)  # within 0.2 s of the last look: not looked at again yet
    assert trainer.requests == []
    time.sleep(0.25)
    stop.on_batch_end(trainer, 0.5)
    assert trainer.requests == ["interrupted"]
