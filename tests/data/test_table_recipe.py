"""The table recipe: every missing strategy as written, statistics from the training split only, levels
sorted, an ID column warned about, rows for a typed model need their header."""

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


STRATEGIES = """m,k,c,f,l,d,y
1,5,a,x,p,1,0
n/a,6,,x,q,2,1
3,?,b,,,3,0
5,7,a,y,p,,1
?,8,NA,y,q,4,0
2,1,b,x,,5,1
"""


def test_every_missing_strategy_fills_as_written_with_its_own_na_values(tmp_path):
    columns = {
        "m": {"type": "number", "missing": "mean", "indicator": True},
        "k": {"type": "number", "missing": "constant", "fill_value": -1},
        "c": {"type": "category", "missing": "constant", "fill_value": "other"},
        "f": {"type": "category", "missing": "most_frequent"},
        "d": {"type": "number", "missing": "drop_rows"},
    }  # l: inferred, missing_level by default
    path = write_csv(tmp_path / "s.csv", STRATEGIES)
    na_values = ["", "?", "n/a"]  # `NA` is not missing here: it is a level of c
    cfg = data_cfg(path=path, target="y", validation_split=0, scale="none", columns=columns, na_values=na_values)
    ds = load_data(cfg, seed=0, dtype=np.float64)
    assert "missing: drop_rows dropped 1 row (d)" in ds.notes
    assert ds.feature_names == [
        "m", "m_missing", "k", "c=NA", "c=a", "c=b", "c=other", "f=x", "f=y", "l=p", "l=q", "l=(missing)", "d"
    ]  # fmt: skip
    # m's mean is over the kept rows (1, 3, 2): 2; the row whose d was blank is gone with its m of 5
    expected = [
        [1, 0, 5, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1],
        [2, 1, 6, 0, 0, 0, 1, 1, 0, 0, 1, 0, 2],
        [3, 0, -1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 3],
        [2, 1, 8, 1, 0, 0, 0, 0, 1, 0, 1, 0, 4],
        [2, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 5],
    ]
    got = ds.x_train[np.argsort(ds.x_train[:, -1])]  # in the file's order (d counts the rows)
    assert got.tolist() == expected
