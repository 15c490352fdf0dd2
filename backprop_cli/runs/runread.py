"""A run's own files read for looking at it (`runs list|show|compare`, `plot`, resume's summary).

The same gate as every user file (regular files only, bounded: a summary.json that is a FIFO must
not hang, a 10 GB metrics.jsonl must not eat memory), JSON nested past Python's recursion limit
caught, the config read with the project's YAML loader (alias bombs refused), and every field
checked for the type its readers expect: a field of the wrong type is dropped and reported. Each
function returns what could be read and a list of problems, so one damaged run is shown as damaged
and never stops the others.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from backprop_cli.errors import UserError
from backprop_cli.userfiles import read_regular

SUMMARY_LIMIT = 4 * 2**20  # a summary is a few KB; its warnings list is the only part that grows
METRICS_LIMIT = 256 * 2**20  # ~10 KB a line with per-layer statistics: tens of thousands of epochs

Problems = list[str]

# summary.json: key -> the types its readers accept (None always allowed: "not known yet")
_SUMMARY_TYPES: dict[str, tuple[type, ...]] = {
    "run_dir": (str,),
    "run_id": (str,),
    "name": (str,),
    "status": (str,),
    "stop_reason": (str,),
    "epochs_run": (int,),
    "epochs": (int,),
    "step": (int,),
    "best_epoch": (int,),
    "best": (dict,),
    "final": (dict,),
    "test": (dict,),
    "wall_time_s": (int, float),
    "warnings": (list,),
    "threads": (int,),
    "pid": (int,),
}
# an epoch record of metrics.jsonl: the structured keys (the rest are numbers, read with as_number)
_RECORD_TYPES: dict[str, tuple[type, ...]] = {"epoch": (int,), "layers": (dict,), "warnings": (list,)}


def read_bytes(path: Path, limit: int) -> tuple[bytes | None, str | None]:
    """(the file's bytes, None); (None, None) when it does not exist; (None, problem) when unreadable."""
    try:
        return read_regular(path, path.name, limit), None
    except FileNotFoundError:
        return None, None
    except UserError as err:
        return None, f"{err.where}: {err.what}"
    except OSError as err:
        return None, f"{path.name}: {err.strerror or err}"


def parse_json(text: str | bytes) -> tuple[Any, str | None]:
    """(data, None) or (None, why it is not JSON); deep nesting and 5000-digit numbers included."""
    try:
        return json.loads(text), None
    except (ValueError, RecursionError) as err:  # RecursionError: nesting deeper than the C parser allows
        return None, f"not valid JSON ({type(err).__name__})" if isinstance(err, RecursionError) else str(err)


def read_summary_file(path: Path) -> tuple[dict[str, Any] | None, Problems]:
    """summary.json as a dict of well-typed fields (None when missing), and what was wrong with it."""
    raw, problem = read_bytes(path, SUMMARY_LIMIT)
    if raw is None:
        return None, [problem] if problem else []
    data, problem = parse_json(raw)
    if problem or not isinstance(data, dict):
        return None, [f"summary.json: {problem or 'not a JSON object'}"]
    return typed_fields(data, _SUMMARY_TYPES, "summary.json")


def read_metrics_file(path: Path) -> tuple[list[dict[str, Any]], Problems]:
    """The whole epoch records of metrics.jsonl; a torn last line is normal (a crash mid-append) and skipped
    quietly, any other bad line is skipped and reported."""
    raw, problem = read_bytes(path, METRICS_LIMIT)
    if raw is None:
        return [], [problem] if problem else []
    records, problems = [], []
    for number, line in enumerate(raw.decode("utf-8", "replace").split("\n")[:-1], start=1):
        data, problem = parse_json(line)
        if problem or not isinstance(data, dict):
            problems.append(f"metrics.jsonl line {number}: {problem or 'not a JSON object'}")
            continue
        record, wrong = typed_fields(data, _RECORD_TYPES, f"metrics.jsonl line {number}")
        if not isinstance(record.get("epoch"), int):
            wrong.append(f"metrics.jsonl line {number}: no epoch number")
            continue
        records.append(record)
        problems += wrong
    return records, problems


def typed_fields(data: dict, types: dict[str, tuple[type, ...]], where: str) -> tuple[dict, Problems]:
    """`data` without the fields whose value is not of the expected type (booleans are not numbers)."""
    kept, problems = {}, []
    for key, value in data.items():
        expected = types.get(key)
        if expected is None or value is None or (isinstance(value, expected) and not isinstance(value, bool)):
            kept[key] = value
        else:
            problems.append(f"{where}: `{key}` is a {type(value).__name__}, expected {expected[0].__name__}")
    return kept, problems


def read_config_file(path: Path) -> tuple[dict[str, Any], Problems]:
    """config.yaml as plain data through the project's YAML loader; {} and the problem when it cannot be."""
    from backprop_cli.config.yamlsafe import read_yaml_file

    if not os.path.lexists(path):
        return {}, []
    try:
        data = read_yaml_file(path).data
    except UserError as err:
        return {}, [f"config.yaml: {err.what}"]
    return (data, []) if isinstance(data, dict) else ({}, ["config.yaml: not a mapping"])
