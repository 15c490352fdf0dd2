"""Predict's input: a header is matched by name, whatever else the file
holds (`head -3 train.csv | backprop predict RUN -`); a first row holding the model's feature names is
a header even when the names are numbers; a row of numbers with a bad cell is data, its cell named; an
empty cell is a missing value; empty input asks for rows, not for a header. Then the header rule as a
table and as a property.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.data.csvfile import looks_like_header

from .helpers import assert_user_error, backprop, in_process, only_run

FLOWERS = ["setosa", "versicolor", "virginica"]


def train_csv(header: str) -> str:
    rows = [f"{i % 5},{i % 3},{i % 4},{i % 2},{FLOWERS[i % 3]}" for i in range(30)]
    return header + "\n" + "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two models on 4 features: named a,b,c,d and named 1,2,3,4 (numbers as names); text labels."""
    base, made = tmp_path_factory.mktemp("predict-input"), {}
    for name, header in (("letters", "a,b,c,d,species"), ("numbers", "1,2,3,4,species")):
        (base / f"{name}.csv").write_text(train_csv(header))
        (base / f"{name}.yaml").write_text(
            f"name: {name}\nseed: 0\ndata: {{path: {name}.csv, target: species, validation_split: 0}}\n"
            "model: {layers: [{type: dense, units: 3}]}\noptimizer: {type: sgd, lr: 0.1}\n"
            "training: {epochs: 1, batch_size: 8}\n"
        )
        result = in_process("train", base / f"{name}.yaml", "--runs-dir", base / name, "--quiet", "--threads", "1")
        assert result.returncode == 0, result.stderr
        made[name] = only_run(base / name)
        made[f"{name}.csv"] = base / f"{name}.csv"
    return made


def test_the_training_files_own_first_lines_label_column_included_predict_by_name(runs):
    head = "".join(runs["letters.csv"].read_text().splitlines(keepends=True)[:3])  # head -3 train.csv
    result = backprop("predict", runs["letters"], "-", input=head)  # a real process, stdin
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2 and set(result.stdout.split()) <= set(FLOWERS)


def test_columns_in_another_order_with_extra_columns_are_matched_by_name(runs):
    result = _predict(runs["letters"], "id,d,species,c,b,a\n7,1,setosa,2,3,4\n")
    expected = _predict(runs["letters"], "4,3,2,1\n")
    assert result.returncode == 0 and result.stdout == expected.stdout, result.stderr


def test_a_header_of_numbers_that_are_the_feature_names_is_a_header_not_a_row(runs):
    result = _predict(runs["numbers"], "1,2,3,4\n0,1,2,1\n2,0,1,0\n")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2  # three lines in, one of them the header: two predictions


@pytest.mark.parametrize(
    "rows, message",
    [
        ("1,abc,3,4\n", "line 1, column 2: value `abc` is not a number"),  # data with a bad cell, not a header
        ("1,2,abc,4\n5,6,7,8\n", "line 1, column 3: value `abc` is not a number"),
        ("1,,3,4\n", "line 1, column 2: the value is empty"),  # a missing value, not a nameless column
        ("", "<stdin>: holds no rows; give at least one row of features"),  # no header is asked for
        ("\n\n", "holds no rows"),
    ],
)
def test_a_row_of_numbers_with_a_bad_cell_is_data_and_the_cell_is_named(runs, rows, message):
    result = _predict(runs["letters"], rows)
    assert_user_error(result, 2, message)
    assert "header" not in result.stderr


def _predict(run, rows: str):
    import io
    import sys

    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(rows.encode()))
    try:
        return in_process("predict", run, "-")
    finally:
        sys.stdin = saved


# ---- the header rule: a table, then a property ----------------------------------------------------
NAMES = ["a", "b", "c", "d"]
HEADER_RULE = [
    (["a", "b", "c", "d"], NAMES, True),
    (["d", "x", "c", "b", "a"], NAMES, True),  # the names among others, in any order
    (["1", "2", "3", "4"], ["1", "2", "3", "4"], True),  # numbers that are the names
    (["1", "2", "3", "4"], NAMES, False),
    (["1", "abc"], NAMES, False),  # a single data row with a bad cell
    (["1", "2", "x", "4"], NAMES, False),
    (["1", "", "3", "4"], NAMES, False),  # an empty cell is a missing value
    (["f1", "f2", "2020", "label"], None, True),  # mostly names: a header of another model
    (["x", "y"], None, True),
    (["", ""], None, False),
]


@pytest.mark.parametrize("cells, names, header", HEADER_RULE)
def test_the_header_rule_table(cells, names, header):
    assert looks_like_header(cells, names) is header


NUMBER = st.floats(allow_nan=False, allow_infinity=False).map(repr) | st.integers().map(str)


@settings(max_examples=300, deadline=None)
@given(row=st.lists(NUMBER, min_size=3, max_size=12), bad=st.text(min_size=1, max_size=5), data=st.data())
def test_a_row_of_numbers_with_one_bad_cell_is_never_a_header(row, bad, data):
    row[data.draw(st.integers(0, len(row) - 1))] = bad
    names = data.draw(st.none() | st.lists(st.text(min_size=1, max_size=3), min_size=1, max_size=4))
    if names and set(names) <= set(row):
        return  # the row holds the model's names: that is a header by definition
    assert not looks_like_header(row, names)


@settings(max_examples=200, deadline=None)
@given(names=st.lists(st.text(min_size=1, max_size=4) | NUMBER, min_size=1, max_size=6, unique=True), data=st.data())
def test_a_row_holding_every_feature_name_is_a_header(names, data):
    extra = data.draw(st.lists(st.text(max_size=4) | NUMBER, max_size=3))
    row = data.draw(st.permutations(names + extra))
    assert looks_like_header(row, names)
