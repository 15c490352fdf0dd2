"""Parquet and Feather tables: the same typed columns as CSV (Arrow's types decide), the same run; without
pyarrow, one message with the install line."""

from __future__ import annotations

import csv
import sys

import pytest

from tests.reliability.helpers import assert_same_run, assert_user_error, in_process, only_run, train_here

pa = pytest.importorskip("pyarrow")


def _number(text: str, kind):
    return None if text in ("", "NA") else kind(text)


@pytest.fixture(scope="module")
def arrow_files(loans_dir):
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    rows = list(csv.DictReader((loans_dir / "loans.csv").open()))
    table = pa.table({
        "age": [_number(r["age"], int) for r in rows],
        "income": [_number(r["income"], float) for r in rows],
        "city": [r["city"] for r in rows],
        "job": [r["job"] or None for r in rows],  # a null: a missing value
        "debt_ratio": [float(r["debt_ratio"]) for r in rows],
        "status": [r["status"] for r in rows],
    })  # fmt: skip
    pq.write_table(table, loans_dir / "loans.parquet", row_group_size=64)  # several row groups
    feather.write_feather(table, loans_dir / "loans.feather")
    for kind in ("parquet", "feather"):
        (loans_dir / f"{kind}.yaml").write_text(
            (loans_dir / "loans.yaml").read_text().replace("loans.csv", f"loans.{kind}")
        )
    return loans_dir


@pytest.mark.parametrize("kind", ["parquet", "feather"])
def test_a_parquet_or_feather_table_trains_the_same_run_as_its_csv(arrow_files, loans_run, kind):
    result = train_here(arrow_files / f"{kind}.yaml", arrow_files / f"runs-{kind}")
    assert result.returncode == 0, result.stderr
    assert_same_run(loans_run, only_run(arrow_files / f"runs-{kind}"))


def test_predict_reads_a_parquet_table_of_rows_as_it_reads_the_csv(arrow_files, loans_run):
    from_parquet = in_process("predict", loans_run, arrow_files / "loans.parquet", "--proba")
    from_csv = in_process("predict", loans_run, arrow_files / "loans.csv", "--proba")
    assert from_parquet.returncode == 0, from_parquet.stderr
    assert from_parquet.stdout == from_csv.stdout and len(from_csv.stdout.splitlines()) == 401


def test_arrow_types_decide_number_or_category_not_the_cells(tmp_path):
    import pyarrow.parquet as pq

    table = pa.table({"zip": ["02134", "2134", "10001", "02134"] * 5, "n": [1, 2, 3, 4] * 5, "label": ["a", "b"] * 10})
    pq.write_table(table, tmp_path / "t.parquet")
    (tmp_path / "t.yaml").write_text(
        "data: {path: t.parquet, target: label, validation_split: 0}\nmodel: {layers: [{type: dense, units: 2}]}\n"
        "training: {epochs: 1}\n"
    )
    result = in_process("config", "validate", tmp_path / "t.yaml")
    assert result.returncode == 0 and "columns: 1 number, 1 category, 0 ignored" in result.stderr, result.stderr


def test_without_pyarrow_a_parquet_file_is_one_message_with_the_install_line(arrow_files, tmp_path, monkeypatch):
    for module in ("pyarrow", "pyarrow.parquet", "pyarrow.ipc"):
        monkeypatch.setitem(sys.modules, module, None)  # `import pyarrow` raises ImportError, as when absent
    for verb in (("config", "validate"), ("train", "--runs-dir", str(tmp_path / "runs"))):
        result = in_process(*verb, arrow_files / "parquet.yaml")
        assert_user_error(
            result, 2, "reading Parquet or Feather needs the `pyarrow` package, which is not installed; "
            "install the optional extra: pip install 'backprop-cli[parquet]'"
        )  # fmt: skip
        assert len(result.stderr.strip().splitlines()) == 1
