"""jsonio.dumps: strict JSON for every file a run writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backprop_cli.runs.jsonio import dumps


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_nan_and_infinities_become_null_at_any_depth():
    obj = {"a": float("nan"), "b": [float("inf"), {"c": -float("inf")}], "d": np.float32("nan")}
    assert _strict(dumps(obj)) == {"a": None, "b": [None, {"c": None}], "d": None}


def test_numpy_scalars_and_arrays_become_plain_json():
    obj = {"i": np.int64(3), "f": np.float32(0.5), "t": np.bool_(True), "a": np.array([[1.0, np.nan]]), "p": (1, 2)}
    assert _strict(dumps(obj)) == {"i": 3, "f": 0.5, "t": True, "a": [[1.0, None]], "p": [1, 2]}


def test_finite_floats_round_trip_exactly():
    values = [0.1, 1e-300, 2.0**-1074, 1.7976931348623157e308, -0.0]
    assert _strict(dumps(values)) == values


def test_output_is_one_line_unless_indented_and_paths_become_strings():
    assert "\n" not in dumps({"a": "x\ny", "b": [1, 2]})
    assert dumps({"p": Path("/tmp/x")}, indent=2) == '{\n  "p": "/tmp/x"\n}'


def test_an_object_json_cannot_hold_is_a_type_error():
    with pytest.raises(TypeError, match="cannot write a object as JSON"):
        dumps({"x": object()})


def test_subclasses_of_plain_types_and_other_mappings_are_written_as_their_values():
    from collections import OrderedDict
    from enum import IntEnum

    class Size(IntEnum):
        SMALL = 2

    obj = OrderedDict([(1, Size.SMALL), ("nested", OrderedDict(x=(np.float64("inf"), True)))])
    assert _strict(dumps(obj)) == {"1": 2, "nested": {"x": [None, True]}}


def test_a_list_of_one_plain_type_is_written_as_it_is_and_its_non_finite_floats_as_null():
    assert _strict(dumps({"order": list(range(5)), "flags": [True, None], "names": ("a", "b")})) == {
        "order": [0, 1, 2, 3, 4], "flags": [True, None], "names": ["a", "b"]}  # fmt: skip
    assert _strict(dumps([1.5, float("nan"), -float("inf")])) == [1.5, None, None]
    assert _strict(dumps([2**80, 0.5])) == [2**80, 0.5]
