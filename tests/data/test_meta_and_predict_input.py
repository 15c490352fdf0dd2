"""What a checkpoint keeps about the data, and how predict/eval apply it to new rows."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from backprop_cli.data import dataset_meta, load_data, prepare_features, read_feature_rows
from backprop_cli.errors import DataError

from .helpers import BUNDLED, data_cfg, write_csv


@pytest.fixture(scope="module")
def iris():
    ds = load_data(data_cfg(dataset="iris"), seed=0, dtype=np.float32)
    return ds, json.loads(json.dumps(dataset_meta(ds)))


def test_the_meta_is_json_and_names_task_shape_classes_features_and_scaler(iris):
    _, meta = iris
    assert meta["task"] == "classification" and meta["input_shape"] == [4]
    assert meta["class_names"] == ["setosa", "versicolor", "virginica"]
    assert meta["feature_names"][0] == "sepal_length" and meta["scaler"]["kind"] == "standard"
    assert meta["target_scaler"] is None


def test_raw_rows_prepared_with_the_meta_equal_the_training_inputs(iris):
    ds, meta = iris
    raw = ds.scaler.inverse_transform(ds.x_train)
    np.testing.assert_allclose(prepare_features(raw, meta, np.float32), ds.x_train, atol=1e-6)


def test_a_wrong_feature_count_says_what_the_model_expects(iris):
    _, meta = iris
    with pytest.raises(DataError, match="the model expects 4 features, rows.csv has 5"):
        prepare_features(np.zeros((2, 5)), meta, source="rows.csv")


def test_a_wrong_size_for_an_image_or_sequence_model_names_its_input_shape():
    meta = dataset_meta(load_data(data_cfg(dataset="digits"), seed=0, dtype=np.float32))  # inputs (1, 8, 8)
    with pytest.raises(DataError, match=r"expects inputs of shape \(1, 8, 8\), a.npy has rows of shape \(2, 7\)"):
        prepare_features(np.zeros((3, 2, 7)), meta, source="a.npy")
    with pytest.raises(DataError, match=r"expects 64 features \(its inputs have shape \(1, 8, 8\), read from each"):
        prepare_features(np.zeros((3, 5)), meta, source="rows.csv")


def test_predict_reads_a_headerless_csv_from_stdin_bytes(iris):
    _, meta = iris
    rows = read_feature_rows(b"5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n")
    assert rows.columns is None and rows.x.shape == (2, 4) and rows.source == "<stdin>"
    assert prepare_features(rows.x, meta).shape == (2, 4)


def test_predict_reads_the_models_columns_by_name_from_a_file_with_a_header():
    rows = read_feature_rows(BUNDLED / "iris.csv", wanted=["petal_width", "sepal_length"])
    assert rows.columns == ["petal_width", "sepal_length"] and rows.x[0].tolist() == [0.2, 5.1]


def test_predict_reads_npy_bytes_from_stdin(iris):
    buf = io.BytesIO()
    np.save(buf, np.ones((3, 4), np.float32))
    rows = read_feature_rows(buf.getvalue())
    assert rows.x.shape == (3, 4) and rows.columns is None


def test_a_bad_predict_row_names_its_line_and_column():
    with pytest.raises(DataError, match=r"<stdin>: line 2, column 2: value `x` is not a number"):
        read_feature_rows(b"1,2\n3,x\n")


def test_a_nul_in_predict_rows_is_refused_with_its_line_and_column():
    with pytest.raises(DataError, match=r"<stdin>: line 2, column 3: a NUL character"):
        read_feature_rows(b"1,2\n3,\x004\n")


def test_a_header_missing_a_model_column_suggests_the_closest():
    with pytest.raises(DataError, match="has no column `petal_width`.*did you mean 'petal_widht'"):
        read_feature_rows(b"petal_widht,a\n1,2\n", wanted=["petal_width"])


def test_eval_data_reuses_the_saved_scaler_instead_of_fitting_a_new_one(tmp_path, iris):
    ds, meta = iris
    path = write_csv(tmp_path / "few.csv", "sepal_length,sepal_width,petal_length,petal_width,species\n"
                     "5.1,3.5,1.4,0.2,setosa\n6.7,3.0,5.2,2.3,virginica\n")  # fmt: skip
    ev = load_data(data_cfg(path=path, validation_split=0.0), seed=0, meta=meta)
    assert ev.class_names == meta["class_names"] and list(ev.y_train) == [0, 2]
    np.testing.assert_array_equal(ev.scaler.offset, ds.scaler.offset)


def test_eval_data_with_a_class_the_model_never_saw_is_refused(tmp_path, iris):
    _, meta = iris
    path = write_csv(tmp_path / "odd.csv", "a,b,c,d,species\n1,2,3,4,setosa\n1,2,3,4,tulip\n")
    with pytest.raises(DataError, match="label `tulip` is out of range"):
        load_data(data_cfg(path=path, validation_split=0.0), seed=0, meta=meta)


def test_regression_meta_keeps_the_target_scaler():
    ds = load_data(data_cfg(dataset="sine"), seed=0)
    meta = json.loads(json.dumps(dataset_meta(ds)))
    assert meta["target_scaler"]["kind"] == "standard" and meta["class_names"] is None


@pytest.mark.parametrize("pad", [" ", "\u2003", "\u00a0"])
def test_cells_and_names_padded_with_any_whitespace_read_like_unpadded_ones(pad):
    plain = read_feature_rows(b"a;b\n1;2.5\n-3;4\n", source="plain")
    padded = read_feature_rows(f"{pad}a{pad};b\n1{pad};{pad}2.5\n{pad}-3;4{pad}\n".encode(), source="padded")
    np.testing.assert_array_equal(padded.x, plain.x)
    assert padded.columns == plain.columns == ["a", "b"]
