"""User errors from names and pydantic: a table miss with a did-you-mean, a ValidationError with its key path.

Both return or raise `ConfigError` (exit 2) whose `where` is a dotted key path such as
`model.layers.2.units` and whose message reads like "must be > 0 (got -4)".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from backprop_cli.errors import ConfigError

# pydantic error type -> our phrasing; `{...}` fields come from the error's ctx.
_MESSAGES = {
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "finite_number": "must be a finite number",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a mapping (key: value)",
    "model_type": "must be a mapping (key: value)",
    "model_attributes_type": "must be a mapping (key: value)",
    "literal_error": "must be one of {expected}",
    "string_pattern_mismatch": "must match the pattern {pattern}",
    "union_tag_invalid": "unknown type {tag}; expected one of {expected_tags}",
}
_NO_GOT = {"missing", "extra_forbidden", "union_tag_not_found", "union_tag_invalid", "value_error"}


def suggest(name: str, choices: Iterable[str]) -> str:
    """A fix for a misspelt name: the closest choice, else the list of choices."""
    choices = sorted(choices)
    close = difflib.get_close_matches(name, choices, n=1)
    return f"did you mean {close[0]!r}?" if close else f"choose one of {', '.join(choices)}"


def lookup(table: Mapping[str, Any], kind: str, name: Any, key_path: str) -> Any:
    """`table[name]`, or a ConfigError naming the key path with a did-you-mean."""
    if isinstance(name, str) and name in table:
        return table[name]
    if not isinstance(name, str):
        raise ConfigError(f"the {kind} must be a name (got {_show(name)})", where=key_path, fix=suggest("", table))
    raise ConfigError(f"unknown {kind} {name!r}", where=key_path, fix=suggest(name, table))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _bound(value: Any) -> Any:
    """1.0 -> 1 in "must be < 1": a bound reads as the user would write it."""
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 1e15 else value


def _key_path(loc: tuple, data: Any, prefix: str) -> str:
    """Join an error location into a dotted path, dropping the tags pydantic adds for discriminated unions."""
    parts, node = [prefix] if prefix else [], data
    for el in loc:
        if isinstance(node, Mapping) and el not in node and node.get("type") == el:
            continue  # the union's tag (the value of `type`), not a key of the user's data
        parts.append(str(el))
        if isinstance(node, Mapping):
            node = node.get(el)
        elif isinstance(node, list | tuple) and isinstance(el, int) and 0 <= el < len(node):
            node = node[el]
        else:
            node = None
    return ".".join(parts)


def _message(err: dict) -> tuple[str, str | None]:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "missing":
        return "is required but missing", "add it"
    if kind == "extra_forbidden":
        return "is not a known key", "remove it or check its spelling"
    if kind == "union_tag_not_found":
        return "needs a `type:` key", "add `type:` naming what this entry is"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"])), None
    template = _MESSAGES.get(kind)
    if template is None:  # pydantic's own words, lower-cased to follow the key path
        text = err["msg"][:1].lower() + err["msg"][1:]
    else:
        text = template.format(**{k: _bound(v) for k, v in ctx.items()})
    if kind not in _NO_GOT:
        text += f" (got {_show(err.get('input'))})"
    return text, None


def errors_from_validation(exc: ValidationError, prefix: str = "", data: Any = None) -> ConfigError:
    """One ConfigError for a pydantic ValidationError: the first problem, the others appended.

    Pass the validated `data` so that key paths skip the tags of discriminated unions
    (`model.layers.2.units`, not `model.layers.2.dense.units`).
    """
    problems = []
    for err in exc.errors(include_url=False):
        what, fix = _message(err)
        problems.append((_key_path(tuple(err["loc"]), data, prefix), what, fix))
    where, what, fix = problems[0]
    if len(problems) > 1:
        what += " (also: " + "; ".join(f"{w or 'top level'} {m}" for w, m, _ in problems[1:4])
        what += ", ...)" if len(problems) > 4 else ")"
    return ConfigError(what, where=where or None, fix=fix)
