"""The front of an ONNX graph for a model that reads a table's typed columns: the saved recipe as nodes.

One graph input per column, named as the column, shape (N, 1): a number column float32 (NaN where the
value is missing), a category column a string (any of the model's na_values, "" among them, where it is
missing). Then, as data/recipe.py does it:
- number: Where(IsNaN(x), fill, x), and with `indicator: true` Cast(IsNaN(x)) beside it;
- category: the ai.onnx.ml LabelEncoder maps each level to its index, a missing value to its fill level's
  index and anything else to -1; Equal against 0..K-1 makes the one-hot row (all-zero for -1);
and the blocks are concatenated into the raw feature matrix (N, F) that the saved scaling reads next.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.data.recipe import MISSING_LEVEL, FittedColumn, TableRecipe
from backprop_cli.interop.onnx_graph import Graph

ML_DOMAIN = "ai.onnx.ml"
ML_OPSET = 2  # LabelEncoder with string keys and int64 values


def table_front(g: Graph, recipe: TableRecipe, na_values: list[str]) -> tuple[str, list[tuple[str, str]]]:
    """The nodes from the column inputs to the raw feature matrix; (its name, [(input name, "float"|"string")])."""
    blocks, inputs = [], []
    for c in recipe.columns:
        name = g.fresh(c.type.name)
        inputs.append((name, "float" if c.type.type == "number" else "string"))
        blocks += _number(g, c, name) if c.type.type == "number" else [_one_hot(g, c, name, na_values)]
    if len(blocks) == 1:
        return g.op("Identity", blocks, "table.features"), inputs
    return g.op("Concat", blocks, "table.features", axis=1), inputs


def _number(g: Graph, c: FittedColumn, x: str) -> list[str]:
    missing = g.op("IsNaN", [x], f"{x}.missing")
    filled = g.op("Where", [missing, g.const(f"{x}.fill", [c.fill]), x], f"{x}.filled")
    if not c.type.indicator:
        return [filled]
    return [filled, g.op("Cast", [missing], f"{x}.indicator", to=1)]  # 1: FLOAT


def _one_hot(g: Graph, c: FittedColumn, x: str, na_values: list[str]) -> str:
    codes = {level: k for k, level in enumerate(c.levels) if level is not MISSING_LEVEL}
    fill = c.levels.index(c.fill) if c.fill in c.levels else -1  # a fill level training never had: all-zero
    if c.type.missing == "drop_rows":
        fill = -1  # training left such rows out; the graph cannot refuse a row, so it reads as unseen
    for na in na_values:
        codes.setdefault(na, fill)
    ids = g.op(
        "LabelEncoder",
        [x],
        f"{x}.ids",
        domain=ML_DOMAIN,
        keys_strings=list(codes),
        values_int64s=list(codes.values()),
        default_int64=-1,
    )  # (N, 1) int64
    levels = g.const(f"{x}.levels", np.arange(len(c.levels)), dtype=np.int64)  # (K,)
    return g.op("Cast", [g.op("Equal", [ids, levels], f"{x}.is")], f"{x}.onehot", to=1)  # (N, K) by broadcasting
