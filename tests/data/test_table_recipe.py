"""The table recipe: statistics from the training split only, levels sorted, an ID column warned about, rows
for a typed model need their header."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.data import load_data
from backprop_cli.data.columns import read_cells
from backprop_cli.data.features_io import read_feature_rows
from backprop_cli.data.rng import data_rng
from backprop_cli.data.splits import split_indices
from backprop_cli.errors import DataError

from .helpers import data_cfg, write_csv


def _table(tmp_path, n: int = 40):
    rows = [f"{i if i % 7 else ''},{'abc'[i % 3] if i % 5 else ''},{i % 2}" for i in range(n)]
    return write_csv(tmp_path / "t.csv", "num,cat,y\n" + "\n".join(rows) + "\n")


def test_fills_come_from_the_training_split_only(tmp_path):
    cfg = data_cfg(path=_table(tmp_path), target="y", validation_split=0.25, scale="none",
                   columns={"cat": {"type": "category", "missing": "most_frequent"}})  # fmt: skip
    ds = load_data(cfg, seed=3, dtype=np.float64)
    y = np.arange(40) % 2
    train, _ = split_indices(y, 0.25, "classification", data_rng(3, "split"))
    nums = np.array([i for i in train if i % 7], dtype=np.float64)  # the training rows' present values
    (num,) = [c for c in ds.recipe.columns if c.type.name == "num"]
    assert num.fill == np.median(nums) != np.median([i for i in range(40) if i % 7])
    cats = [("abc"[i % 3]) for i in train if i % 5]
    (cat,) = [c for c in ds.recipe.columns if c.type.name == "cat"]
    assert cat.levels == ["a", "b", "c"] and cat.fill == max(sorted(set(cats)), key=cats.count)


def test_an_id_like_column_is_warned_about_with_ignore_as_the_fix(tmp_path):
    rows = "".join(f"id{i},{i % 3},{i % 2}\n" for i in range(60))
    ds = load_data(data_cfg(path=write_csv(tmp_path / "ids.csv", "ref,x,y\n" + rows), validation_split=0), seed=0)
    assert ds.warnings == [
        "column `ref` has 60 levels in 60 training rows: an ID column teaches nothing that carries over; "
        "mark it `ref: ignore` under data.columns"
    ]
    ignored = load_data(data_cfg(path=str(tmp_path / "ids.csv"), validation_split=0, columns={"ref": "ignore"}), seed=0)
    assert ignored.warnings == [] and ignored.feature_names == ["x"] and "0 category, 1 ignored" in ignored.notes[0]


def test_rows_for_a_model_with_text_columns_need_their_header(tmp_path):
    ds = load_data(data_cfg(path=_table(tmp_path), target="y", validation_split=0), seed=0)
    with pytest.raises(DataError, match="has no header, and this model reads typed columns by name; add a header"):
        read_feature_rows(b"3,a\n", source="rows.csv", typed=ds.recipe.types)  # as predict reads them
    rows = read_feature_rows(b"cat,num\nb,5\n", typed=ds.recipe.types)
    x, unseen = ds.recipe.encode(read_cells(rows.table, ds.recipe.types, ["", "NA"]))
    assert x.tolist() == [[5.0, 0.0, 1.0, 0.0, 0.0]] and unseen == {}  # num, cat=a, cat=b, cat=c, cat=(missing)
