"""Tables fit the terminal they are drawn on: at 70 and at 120 columns every line fits, run names (the thing
users copy) are never cut, and each table keeps its headline (a run's best figure, gradcheck's verdict)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.terminal import on_terminal
from tests.reliability.helpers import in_process

ROOT = Path(__file__).resolve().parents[2]
WIDTHS = (70, 120)


@pytest.fixture(scope="module")
def runs_folder(tmp_path_factory) -> tuple[Path, list[str]]:
    work = tmp_path_factory.mktemp("widths")
    names = []
    for name in ("a-run-name-long-enough-to-matter-when-narrow", "iris"):
        done = in_process(
            "train",
            ROOT / "configs" / "iris.yaml",
            "--set",
            "training.epochs=2",
            "--run-name",
            name,
            "--json",
            cwd=work,
        )
        assert done.returncode == 0, done.stderr
        names.append(Path(json.loads(done.stdout)["run_dir"]).name)
    return work, names


def _fits(text: str, width: int) -> None:
    long = [line for line in text.splitlines() if len(line.rstrip()) > width]
    assert not long, f"{len(long)} line(s) wider than {width}:\n" + "\n".join(long)


@pytest.mark.parametrize("width", WIDTHS)
def test_runs_list_fits_and_shows_every_run_name_whole(runs_folder, width):
    work, names = runs_folder
    code, shown = on_terminal("runs", "list", columns=width, cwd=work)
    assert code == 0, shown
    _fits(shown, width)
    for name in names:
        assert name in shown
    assert shown.count("val_loss") == 2  # each run's best figure


@pytest.mark.parametrize("width", WIDTHS)
def test_data_list_fits(width):
    code, shown = on_terminal("data", "list", columns=width)
    assert code == 0, shown
    _fits(shown, width)
    assert "shakespeare" in shown and "classification" in shown


@pytest.mark.parametrize("width", WIDTHS)
def test_gradcheck_fits_and_ends_with_its_verdict(width):
    code, shown = on_terminal("gradcheck", ROOT / "configs" / "iris.yaml", columns=width)
    assert code == 0, shown
    _fits(shown, width)
    lines = shown.strip().splitlines()
    assert lines[-1].startswith("verdict: all 6 gradients pass"), lines[-1]
    assert lines[-2].startswith("ok: relative error <")  # the legend uses the verdict's own word


@pytest.mark.parametrize("width", WIDTHS)
def test_live_progress_keeps_epoch_rows_aligned_and_the_closing_line_whole(width, tmp_path):
    code, shown = on_terminal("train", ROOT / "configs" / "quickstart.yaml", "--set", "training.epochs=4",
                              columns=width, cwd=tmp_path, screen=True)  # fmt: skip
    assert code == 0, shown
    lines = shown.splitlines()
    heading = next(i for i, line in enumerate(lines) if line.startswith("epoch ") and "val loss" in line)
    rows = lines[heading : heading + 5]
    assert [row.split()[0] for row in rows[1:]] == ["1/4", "2/4", "3/4", "4/4"], rows
    assert len({len(row) for row in rows}) == 1 and len(rows[0]) <= width, rows  # one width: columns line up
    closing = [line for line in lines if line.startswith("status=") or "time=" in line]
    assert closing and all(re.search(r"(^|\s)time=\d", line) for line in closing[-1:]), closing  # not `time\n=`


@pytest.mark.parametrize("width", WIDTHS)
def test_sweep_and_cv_fit_keep_run_names_whole_and_end_with_a_headline(width, tmp_path):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"base: {ROOT / 'configs' / 'iris.yaml'}\nmethod: grid\nparameters:\n"
                     "  optimizer.lr: [0.1, 0.3]\n  training.epochs: [3]\nmetric: val_loss\nmode: min\n")  # fmt: skip
    code, shown = on_terminal("sweep", sweep, "--workers", "1", columns=width, cwd=tmp_path, screen=True)
    assert code == 0, shown
    _fits(shown, width)
    trials = sorted(p.name for p in next((tmp_path / "runs").glob("sweep-*")).glob("trial-*"))
    assert len(trials) == 2 and all(name in shown for name in trials), shown
    assert re.search(r"best: optimizer\.lr=0\.[13] training\.epochs=3 val_loss=\d", shown.replace("\n", " ")), shown
    code, shown = on_terminal("cv", ROOT / "configs" / "iris.yaml", "--folds", "2", "--set", "training.epochs=3",
                              "--workers", "1", columns=width, cwd=tmp_path, screen=True)  # fmt: skip
    assert code == 0, shown
    _fits(shown, width)
    folds = sorted(p.name for p in next((tmp_path / "runs").glob("iris-cv-*")).glob("fold-*"))
    assert len(folds) == 2 and all(name in shown for name in folds), shown
    assert re.search(r"test_accuracy \d\.\d+ ± \d", shown), shown
