"""The names of typed columns and missing-value strategies, and how a column's keys take effect.

Apart from the pydantic schema (config/columns.py), so that `predict` reads a table without loading pydantic.
"""

from __future__ import annotations

COLUMN_TYPES = ("number", "category", "ignore")
NUMBER_MISSING = ("mean", "median", "constant", "drop_rows")
CATEGORY_MISSING = ("most_frequent", "missing_level", "constant", "drop_rows")
ANY_MISSING = ("mean", "median", "most_frequent", "missing_level", "constant", "drop_rows")
NA_VALUES = ("", "NA", "NaN", "null", "?")  # cells read as a missing value (data.na_values)


def resolved_column(spec, defaults) -> dict:
    """A column's keys (a ColumnSpec, or anything with its attributes) as they take effect: its missing
    strategy (else the default of its type) and the constant's default value written out. An ignored column
    is its type alone."""
    if spec.type == "ignore":
        return {"type": "ignore"}
    missing = spec.missing or getattr(defaults, spec.type)
    fill = spec.fill_value
    if missing == "constant" and fill is None:
        fill = 0.0 if spec.type == "number" else "missing"
    keys = {"type": spec.type, "missing": missing, "fill_value": fill, "indicator": spec.indicator or None,
            "encode": spec.encode if spec.encode != "onehot" else None, "dim": spec.dim}  # fmt: skip
    return {k: v for k, v in keys.items() if v is not None}
