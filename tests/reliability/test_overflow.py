"""Values that overflow: finite in the file, not finite once cast to the training dtype or once
scaled. Training and predict say so (exit 2, the file, the row, the column) instead of NumPy warnings,
then a "diverged; lower optimizer.lr" (exit 1), or identical meaningless probabilities (exit 0). Then a
property: the checked scaling returns finite values or names a row and a column that are really bad.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from backprop_cli.data.finite import fit_quietly, transform_checked
from backprop_cli.errors import DataError

from .helpers import assert_user_error, backprop, in_process, only_run

ROWS = [f"{i * 0.1:.1f},{i % 3},{i % 2}" for i in range(20)]


def config(name: str, dtype: str = "float32") -> str:
    return (
        f"name: {name}\nseed: 0\ndata: {{path: {name}.csv, target: label, validation_split: 0}}\n"
        "model: {layers: [{type: dense, units: 2}]}\noptimizer: {type: sgd, lr: 0.1}\n"
        f"training: {{epochs: 1, batch_size: 4, dtype: {dtype}}}\n"
    )


@pytest.mark.parametrize(
    "value, dtype, message",
    [
        ("1e39", "float32", "big.csv: row 6, column `a`: value 1e+39 does not fit in float32"),
        ("-1e308", "float64", "big.csv: column `a`: its values (up to 1e+308, row 6) are too large to scale"),
        ("1e308", "float32", "column `a`: its values (up to 1e+308, row 6) are too large to scale"),
    ],
)
def test_training_on_a_value_that_overflows_the_cast_or_the_scaling_is_exit_2_naming_row_and_column(
    tmp_path, value, dtype, message
):
    rows = ["a,b,label", *ROWS]
    rows[6] = f"{value},1,0"  # the 6th data row
    (tmp_path / "big.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "big.yaml").write_text(config("big", dtype))
    result = in_process("train", tmp_path / "big.yaml", "--runs-dir", tmp_path / "runs", "--quiet")
    assert_user_error(result, 2, message)
    assert "RuntimeWarning" not in result.stderr and "diverged" not in result.stderr


def test_predict_refuses_a_row_that_overflows_float32_naming_it_instead_of_meaningless_probabilities(tmp_path):
    (tmp_path / "ok.csv").write_text("a,b,label\n" + "\n".join(ROWS) + "\n")
    (tmp_path / "ok.yaml").write_text(config("ok"))
    trained = in_process("train", tmp_path / "ok.yaml", "--runs-dir", tmp_path / "runs", "--quiet")
    assert trained.returncode == 0, trained.stderr
    result = backprop("predict", only_run(tmp_path / "runs"), "-", "--proba", input="a,b\n1,1\n1e39,1\n")
    assert_user_error(result, 2, "<stdin>: row 2, column `a`: value 1e+39 does not fit in float32")
    assert result.stdout == "" and "RuntimeWarning" not in result.stderr


HUGE = st.sampled_from([1e39, -3e38, 1.7e308, -1e308, 1e300])
CELL = st.floats(-1e6, 1e6) | HUGE


@settings(max_examples=200, deadline=None)
@given(
    x=st.integers(2, 8).flatmap(lambda n: st.lists(st.lists(CELL, min_size=3, max_size=3), min_size=n, max_size=n)),
    kind=st.sampled_from(["standard", "minmax", "none"]),
    dtype=st.sampled_from([np.float32, np.float64]),
)
@example(x=[[0.0, 0.0, 0.0], [0.0, 0.0, 5.085113275798738e-85]], kind="standard", dtype=np.float32)  # found by CI
def test_checked_scaling_is_finite_or_names_a_row_and_column_that_are_really_bad(x, kind, dtype):
    x = np.array(x, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning may escape either
        scaler = fit_quietly(kind, x)
        try:
            out = transform_checked(scaler, x, dtype, "f.csv", names=["a", "b", "c"])
        except DataError as err:
            found = re.search(r"row (\d+)", str(err)), re.search(r"column `(\w)`", str(err))
            assert found[0] and found[1], err
            i, k = int(found[0][1]) - 1, "abc".index(found[1][1])
            assert np.max(np.abs(x[:, k])) >= 1e38 or np.abs(x[i, k]) >= 1e38, (err, x)  # a huge one is there
            return
    assert out.dtype == dtype and np.isfinite(out).all()
