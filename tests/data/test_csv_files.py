"""The user's CSV files: what they may hold, and one clear DataError for everything they must not."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.data import load_data
from backprop_cli.errors import DataError

from .helpers import data_cfg, write_csv

FLOWERS = "a,b,kind\n1,2,cat\n3,4,dog\n5,6,cat\n7,8,dog\n9,10,cat\n"


def load(path, **fields):
    return load_data(data_cfg(path=path, validation_split=0.0, **fields), seed=0, dtype=np.float64)


def test_string_labels_become_sorted_class_indices_and_keep_their_names(tmp_path):
    ds = load(write_csv(tmp_path / "t.csv", FLOWERS), target="kind", scale="none")
    assert ds.task == "classification" and ds.class_names == ["cat", "dog"]
    assert list(ds.y_train) == [0, 1, 0, 1, 0] and ds.feature_names == ["a", "b"]
    np.testing.assert_array_equal(ds.x_train, [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]])


def test_the_target_defaults_to_the_last_column(tmp_path):
    ds = load(write_csv(tmp_path / "t.csv", FLOWERS))
    assert ds.class_names == ["cat", "dog"] and ds.input_shape == (2,)


def test_integer_labels_map_to_indices_in_numeric_order_with_their_values_as_names(tmp_path):
    text = "x,y\n" + "".join(f"{i},{lab}\n" for i, lab in enumerate([10, 2, 9, 2, 10, 9]))
    ds = load(write_csv(tmp_path / "t.csv", text), target="y")
    assert ds.class_names == ["2", "9", "10"] and list(ds.y_train) == [2, 0, 1, 0, 2, 1]


def test_a_numeric_target_with_many_distinct_values_is_a_regression_with_a_column_of_targets(tmp_path):
    rows = "".join(f"{i},{i * 0.5 + 0.25}\n" for i in range(60))
    ds = load(write_csv(tmp_path / "t.csv", "x,price\n" + rows), target="price", scale_target=False)
    assert ds.task == "regression" and ds.y_train.shape == (60, 1) and ds.y_train.dtype == np.float64
    assert ds.target_scaler is None and ds.y_train[3, 0] == 1.75


def test_data_task_overrides_the_automatic_choice(tmp_path):
    rows = "".join(f"{i},{i % 4}\n" for i in range(20))
    ds = load(write_csv(tmp_path / "t.csv", "x,rooms\n" + rows), target="rooms", task="regression")
    assert ds.task == "regression" and ds.n_classes is None


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_detected(tmp_path, delimiter):
    text = FLOWERS.replace(",", delimiter)
    ds = load(write_csv(tmp_path / "t.csv", text), target="kind")
    assert ds.feature_names == ["a", "b"] and len(ds.x_train) == 5


def test_quoted_fields_blank_lines_and_a_byte_order_mark_are_read(tmp_path):
    text = '\ufeff"a","b","kind"\n"1","2","cat, tabby"\n\n3,4,dog\n5,6,dog\n'
    ds = load(write_csv(tmp_path / "t.csv", text), target="kind")
    assert ds.class_names == ["cat, tabby", "dog"] and ds.feature_names == ["a", "b"]


def test_a_feature_list_picks_columns_in_its_order(tmp_path):
    ds = load(write_csv(tmp_path / "t.csv", "a,b,c,y\n1,2,3,0\n4,5,6,1\n"), target="y", features=["c", "a"],
              scale="none")  # fmt: skip
    assert ds.feature_names == ["c", "a"] and list(ds.x_train[0]) == [3, 1]


def test_a_test_file_is_read_by_column_name_with_the_training_classes(tmp_path):
    train = write_csv(tmp_path / "train.csv", FLOWERS)
    test = write_csv(tmp_path / "test.csv", "kind,b,a\ndog,4,3\ncat,2,1\n")
    ds = load(train, target="kind", test_path=test, scale="none")
    assert list(ds.y_test) == [1, 0] and ds.x_test.tolist() == [[3, 4], [1, 2]]


# --- bad data: one DataError naming the file, the line (the header is line 1) and the column ---


def error_of(path, **fields) -> str:
    with pytest.raises(DataError) as err:
        load(path, **fields)
    return str(err.value)


def test_a_missing_file_is_named(tmp_path):
    assert "nope.csv: file not found" in error_of(str(tmp_path / "nope.csv"))


def test_an_empty_file_says_so(tmp_path):
    assert "the file is empty" in error_of(write_csv(tmp_path / "e.csv", "\n\n"))


def test_a_header_without_rows_says_so(tmp_path):
    assert "has a header but no data rows" in error_of(write_csv(tmp_path / "h.csv", "a,b,y\n"))


def test_a_ragged_row_names_its_line_and_both_field_counts(tmp_path):
    text = error_of(write_csv(tmp_path / "r.csv", "a,b,y\n1,2,0\n3,1\n"))
    assert "r.csv: line 3 has 2 fields, the header has 3" in text


def test_a_non_numeric_cell_of_a_column_typed_number_names_line_column_and_value(tmp_path):
    text = error_of(write_csv(tmp_path / "n.csv", "f1,f2,y\n1,2,0\n3,abc,1\n"), columns={"f2": "number"})
    assert "n.csv: line 3, column `f2`: value `abc` is not a number" in text


def test_text_in_a_column_not_typed_makes_it_a_category(tmp_path):
    ds = load(write_csv(tmp_path / "n.csv", "f1,f2,y\n1,2,0\n3,abc,1\n"), scale="none")
    assert ds.feature_names == ["f1", "f2=2", "f2=abc"]
    np.testing.assert_array_equal(ds.x_train, [[1, 1, 0], [3, 0, 1]])


@pytest.mark.parametrize(
    "text, where",
    [
        ("a,y\n1,x\n2,x\0\n", "line 3, column 4"),  # a label `x\0` would have become `x`: one class, not two
        ("a,y\n1,x\n2,\0\n", "line 3, column 3"),  # `\0` alone would have become the empty label
        ("a,y\n\x001,x\n2,z\n", "line 2, column 1"),  # in a feature
    ],
)
def test_a_nul_character_anywhere_is_refused_with_its_line_and_column(tmp_path, text, where):
    message = error_of(write_csv(tmp_path / "z.csv", text))
    assert f"z.csv: {where}: a NUL character (byte 0x00)" in message and "UTF-8" in message


def test_an_empty_feature_cell_is_a_missing_value_filled_with_the_training_median(tmp_path):
    ds = load(write_csv(tmp_path / "n.csv", "f1,y\n,0\n1,1\n4,0\n6,1\n"), scale="none")
    np.testing.assert_array_equal(ds.x_train[:, 0], [4, 1, 4, 6])


def test_an_empty_cell_of_a_drop_rows_column_at_predict_time_is_named(tmp_path):
    from backprop_cli.data.columns import read_cells
    from backprop_cli.data.csvfile import read_table
    from backprop_cli.data.recipe import TableRecipe

    columns = {"f1": {"type": "number", "missing": "drop_rows"}}
    ds = load(write_csv(tmp_path / "n.csv", "f1,y\n,0\n1,1\n4,0\n6,1\n"), columns=columns)
    assert len(ds.x_train) == 3 and any("dropped 1 row" in note for note in ds.notes)
    rows = read_table("f1,id\n2,a\n,b\n", "rows.csv")
    with pytest.raises(DataError, match="rows.csv: line 3, column `f1`: the value is missing"):
        ds.recipe.encode(read_cells(rows, ds.recipe.types, ["", "NA"]))
    assert isinstance(ds.recipe, TableRecipe)


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity"])
def test_a_non_finite_feature_is_named(tmp_path, value):
    text = error_of(write_csv(tmp_path / "f.csv", f"f1,f2,y\n1,2,0\n3,4,1\n5,{value},0\n"))
    assert f"f.csv: line 4, column `f2`: value `{value}` is not a finite number" in text


def test_a_missing_target_column_suggests_the_closest_and_lists_the_columns(tmp_path):
    text = error_of(write_csv(tmp_path / "t.csv", "f1,label\n1,0\n2,1\n"), target="lable")
    assert "has no column `lable`" in text and "f1, label" in text and "did you mean 'label'?" in text


def test_a_missing_feature_column_suggests_the_closest(tmp_path):
    text = error_of(write_csv(tmp_path / "t.csv", "width,y\n1,0\n2,1\n"), features=["widht"])
    assert "has no column `widht` (data.features)" in text and "did you mean 'width'?" in text


def test_a_row_with_an_empty_target_is_left_out_of_training_with_a_count(tmp_path):
    ds = load(write_csv(tmp_path / "t.csv", "x,y\n1,a\n2,\n3,b\n"), scale="none")
    assert ds.x_train[:, 0].tolist() == [1, 3] and "1 row without a target `y` left out" in ds.notes


def test_an_empty_target_is_refused_with_its_line_when_a_saved_model_scores_the_rows(tmp_path):
    from backprop_cli.data import dataset_meta

    ds = load(write_csv(tmp_path / "t.csv", "x,y\n1,a\n2,b\n"))
    scored = write_csv(tmp_path / "s.csv", "x,y\n1,a\n2,\n")
    with pytest.raises(DataError, match="s.csv: line 3: the target `y` is empty; eval scores rows whose target"):
        load_data(data_cfg(path=scored, validation_split=0.0), seed=0, meta=dataset_meta(ds))


def test_a_single_class_is_refused_for_classification(tmp_path):
    text = error_of(write_csv(tmp_path / "one.csv", "x,y\n1,a\n2,a\n3,a\n"))
    assert "has a single class (a); classification needs at least 2" in text


def test_a_test_label_the_training_data_never_had_is_out_of_range(tmp_path):
    test = write_csv(tmp_path / "test.csv", "a,b,kind\n1,2,cat\n3,4,bird\n")
    text = error_of(write_csv(tmp_path / "train.csv", FLOWERS), test_path=test)
    assert "test.csv: line 3: label `bird` is out of range: the classes are cat, dog" in text


def test_a_test_file_lacking_a_training_column_is_named(tmp_path):
    test = write_csv(tmp_path / "test.csv", "a,kind\n1,cat\n")
    assert "lacks the column `b`" in error_of(write_csv(tmp_path / "train.csv", FLOWERS), test_path=test)


def test_a_text_target_cannot_be_a_regression(tmp_path):
    text = error_of(write_csv(tmp_path / "t.csv", FLOWERS), task="regression")
    assert "line 2: the target `kind` holds `cat`; a regression target must be numeric" in text


def test_a_fractional_label_cannot_be_a_class(tmp_path):
    text = error_of(write_csv(tmp_path / "t.csv", "x,y\n1,0\n2,0.5\n"), task="classification")
    assert "line 3: class label `0.5` is not an integer" in text


def test_a_validation_split_that_leaves_no_training_rows_is_refused(tmp_path):
    path = write_csv(tmp_path / "two.csv", "x,y\n1,a\n2,b\n")
    with pytest.raises(DataError, match="validation_split 0.9 of 2 rows leaves no training rows"):
        load_data(data_cfg(path=path, validation_split=0.9), seed=0)


def test_a_first_line_of_numbers_is_not_taken_for_a_header(tmp_path):
    assert "line 1 looks like data" in error_of(write_csv(tmp_path / "t.csv", "1,2,0\n3,4,1\n"))


def test_duplicate_column_names_are_refused(tmp_path):
    assert "columns 1 and 2 are both named `a`" in error_of(write_csv(tmp_path / "t.csv", "a,a,y\n1,2,0\n"))


def test_a_file_that_is_not_utf8_text_is_refused_without_a_traceback(tmp_path):
    path = tmp_path / "bin.csv"
    path.write_bytes(b"a,b\n\xff\xfe\x00\x01")
    assert "not UTF-8 text (byte 0xff at offset 4)" in error_of(str(path))


def test_an_unknown_suffix_is_refused_with_the_supported_ones(tmp_path):
    assert "unsupported file type `.xlsx`" in error_of(write_csv(tmp_path / "t.xlsx", FLOWERS))
