"""A table as people make them (configs/loans.csv: text columns, blanks, a rare class),
trained once from the raw CSV with no `columns:` key, and rows to score that the training never saw."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.reliability.helpers import only_run, train_here

LOANS = Path(__file__).resolve().parents[2] / "configs" / "loans.csv"
CONFIG = """name: loans
seed: 0
data: {path: loans.csv, target: status, validation_split: 0.2}
model:
  layers:
    - {type: dense, units: 16, activation: relu}
    - {type: dense, units: 3}
optimizer: {type: adam, lr: 0.01}
training: {epochs: 6, batch_size: 32}
"""


def unseen_rows(text: str) -> str:
    """The last 60 rows of the table, with what predict must survive: a city training never had, blanks
    in a number and a category column, `NA` spelled out, the columns in another order."""
    header, *rows = text.splitlines()
    cells = [row.split(",") for row in rows[-60:]]
    for i in (3, 17, 41):
        cells[i][2] = "Narvik"  # city: unseen
    for i in (5, 6, 30):
        cells[i][1] = ""  # income: blank
    cells[8][3] = ""  # job: blank
    cells[9][0] = "NA"  # age
    order = [5, 2, 3, 0, 1, 4]  # status, city, job, age, income, debt_ratio
    names = header.split(",")
    lines = [",".join(names[k] for k in order)] + [",".join(row[k] for k in order) for row in cells]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def loans_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("loans")
    shutil.copy(LOANS, base / "loans.csv")
    (base / "loans.yaml").write_text(CONFIG)
    (base / "rows.csv").write_text(unseen_rows(LOANS.read_text()))
    return base


@pytest.fixture(scope="session")
def loans_run(loans_dir) -> Path:
    """The trained run (in this process: the runs that must be processes are in the tests)."""
    result = train_here(loans_dir / "loans.yaml", loans_dir / "runs")
    assert result.returncode == 0, result.stderr
    return only_run(loans_dir / "runs")
