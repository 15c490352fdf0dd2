"""`data.columns` and `data.missing`: how each column of the user's table is read (typed columns).

    columns:
      city: category                                   # shorthand for {type: category}
      income: {type: number, missing: median, indicator: true}
      job: {type: category, encode: embedding, dim: 4}
      id: ignore
    missing: {number: median, category: missing_level}  # for the columns whose own `missing` is not given

A column not named is inferred from the training file (data/columns.py): text makes a category.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from backprop_cli.config.spec import Spec

__all__ = ["ColumnSpec", "MissingDefaults", "column_shorthand", "compact_columns", "resolve_columns"]

from backprop_cli.config.missing import ANY_MISSING, CATEGORY_MISSING, COLUMN_TYPES, NUMBER_MISSING


class ColumnSpec(Spec):
    type: Literal[COLUMN_TYPES]  # type: ignore[valid-type]
    missing: Literal[ANY_MISSING] | None = None  # type: ignore[valid-type]
    fill_value: float | str | None = None  # missing: constant (default 0, or the level `missing`)
    indicator: bool = False  # number: a 0/1 column `<name>_missing` beside it
    encode: Literal["onehot", "embedding"] = "onehot"  # category
    dim: int | None = Field(None, gt=0, le=1024)  # encode: embedding: the length of each level's vector

    @model_validator(mode="after")
    def _keys_fit_the_type(self) -> ColumnSpec:
        allowed = {"number": NUMBER_MISSING, "category": CATEGORY_MISSING, "ignore": ()}[self.type]
        if self.missing is not None and self.missing not in allowed:
            choices = ", ".join(allowed) if allowed else "none (an ignored column is not read)"
            raise ValueError(f"missing: {self.missing} does not apply to a {self.type} column; choose {choices}")
        if self.fill_value is not None and self.missing != "constant":
            raise ValueError("fill_value is the value of `missing: constant`; add that, or drop fill_value")
        if self.type == "number" and isinstance(self.fill_value, str):
            raise ValueError(f"fill_value of a number column must be a number, not {self.fill_value!r}")
        if self.indicator and self.type != "number":
            raise ValueError("indicator: true adds a 0/1 column to a number column; a category has missing_level")
        if self.type != "category" and (self.encode != "onehot" or self.dim is not None):
            raise ValueError("encode and dim are for category columns")
        if self.encode == "embedding" and self.dim is None:
            raise ValueError("encode: embedding needs `dim`, the length of each level's vector (e.g. dim: 4)")
        if self.encode == "onehot" and self.dim is not None:
            raise ValueError("dim is the vector length of encode: embedding; a one-hot has one column per level")
        return self


class MissingDefaults(Spec):
    number: Literal[NUMBER_MISSING] = "median"  # type: ignore[valid-type]
    category: Literal[CATEGORY_MISSING] = "missing_level"  # type: ignore[valid-type]


def column_shorthand(value):
    """`city: category` is `city: {type: category}`."""
    if isinstance(value, dict):
        return {name: {"type": spec} if isinstance(spec, str) else spec for name, spec in value.items()}
    return value


def compact_columns(columns: dict[str, ColumnSpec] | None) -> dict | None:
    """Dumped as written: a column with nothing but its type is its type's name (a resolved config stays short)."""
    if columns is None:
        return None
    out = {}
    for name, spec in columns.items():
        given = spec.model_dump(exclude_defaults=True)
        out[name] = spec.type if set(given) == {"type"} else given
    return out


def resolve_columns(given: dict[str, ColumnSpec] | None, defaults: MissingDefaults, found: dict[str, dict]) -> dict:
    """The `data.columns` of a resolved config: every column of `found` (the typed columns the data was read
    with, as resolved_column dicts) and the columns `given` marks ignore."""
    ignored = {name: {"type": "ignore"} for name, spec in (given or {}).items() if spec.type == "ignore"}
    return {**found, **ignored}
