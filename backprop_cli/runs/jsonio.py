"""JSON for every file a run writes: NaN and ±inf become null, NumPy values become plain ones.

`json.dumps` would write `NaN`, which is not JSON and which `jq` and most parsers reject.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import numpy as np


def to_jsonable(obj: Any) -> Any:
    """`obj` with NumPy scalars/arrays made plain, tuples made lists and non-finite floats None."""
    kind = type(obj)  # the plain types first, by identity: a run's records hold thousands of them
    if kind is float:
        return obj if math.isfinite(obj) else None
    if kind is str or kind is int or kind is bool or obj is None:
        return obj
    if kind is dict:
        return {str(key): to_jsonable(value) for key, value in obj.items()}
    if kind is list or kind is tuple:
        types = set(map(type, obj))  # a long list is nearly always of one plain type: a data order, counts
        if types <= _AS_THEY_ARE or (types == _FLOAT and all(map(math.isfinite, obj))):
            return list(obj)
        return [to_jsonable(value) for value in obj]
    return _other_jsonable(obj)


_AS_THEY_ARE = {int, str, bool, type(None)}
_FLOAT = {float}


def _other_jsonable(obj: Any) -> Any:
    """NumPy values, subclasses of the plain types, other mappings and sequences, paths."""
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, str) or obj is None:
        return obj
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, Mapping):
        return {str(key): to_jsonable(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(value) for value in obj]
    if isinstance(obj, PurePath):
        return str(obj)
    raise TypeError(f"cannot write a {type(obj).__name__} as JSON")


def dumps(obj: Any, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """Strict JSON text of `obj` (see `to_jsonable`); one line unless `indent` is given."""
    return json.dumps(to_jsonable(obj), indent=indent, sort_keys=sort_keys, allow_nan=False)
