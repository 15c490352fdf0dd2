"""Pydantic's validation errors turned into the project's messages: key path, place, what is allowed.

`model.layers.2.units: must be > 0 (got -4)` rather than pydantic's five-line report; an unknown key
or name gets a did-you-mean drawn from the schema itself.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from backprop_cli.config.names import closest, lookup, show_value, suggest
from backprop_cli.errors import ConfigError

KeyPath = tuple
__all__ = ["KeyPath", "fields_at", "lookup", "suggest", "to_config_error", "validate"]

_TYPE_WORDS = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list",
    "literal_error": None,
}
_BOUNDS = {
    "greater_than": (">", "gt"),
    "greater_than_equal": (">=", "ge"),
    "less_than": ("<", "lt"),
    "less_than_equal": ("<=", "le"),
}


def validate(schema: Any, data: Any, *, prefix: KeyPath | str = (), where: Callable[[KeyPath], str] | None = None):
    """Validate `data` against a pydantic model or type; a failure is one ConfigError listing each problem."""
    if isinstance(prefix, str):
        prefix = tuple(int(p) if p.isdecimal() else p for p in prefix.split(".") if p)
    try:
        return _adapter(schema).validate_python(data)
    except ValidationError as exc:
        raise to_config_error(exc, schema, data, prefix=prefix, where=where) from None


_ADAPTERS: dict[int, tuple[Any, TypeAdapter]] = {}


def _adapter(schema: Any) -> TypeAdapter:
    """One TypeAdapter per schema object (building one costs milliseconds)."""
    cached = _ADAPTERS.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = _ADAPTERS[id(schema)] = (schema, TypeAdapter(schema))
    return cached[1]


def to_config_error(
    exc: ValidationError, schema: Any, data: Any, *, prefix: KeyPath = (), where: Callable[[KeyPath], str] | None = None
) -> ConfigError:
    """One ConfigError for all problems; each names its key path (and, given `where`, its file line)."""
    problems = []
    for err in exc.errors(include_url=False)[:12]:
        path = _clean_path(schema, data, err["loc"])
        text, fix = _describe(err, schema, data, path)
        full = (*prefix, *path)
        dotted = ".".join(map(str, full)) or "config"
        text += f"; {fix}" if fix else ""
        problems.append((where(full) if where else dotted, dotted, text))
    problems.sort(key=lambda item: _line_number(item[0]))
    first_place = problems[0][0]
    if len(problems) == 1:
        place, dotted, text = problems[0]
        return ConfigError(f"{dotted}: {text}" if where else text, where=place)
    lines = [
        f"  {place + ': ' if where and place != first_place else ''}{dotted}: {text}"
        for place, dotted, text in problems
    ]
    return ConfigError(f"{len(problems)} problems:\n" + "\n".join(lines), where=first_place)


def _line_number(place: str | None) -> int:
    """Order problems as they stand in the file; overrides and unplaced ones last."""
    parts = (place or "").split(":")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdecimal() else 10**9


def _clean_path(schema: Any, data: Any, loc: Sequence) -> KeyPath:
    """Drop the union-tag elements pydantic inserts ('dense' in model.layers.2.dense.units)."""
    path: list = []
    annotation, node = schema, data
    for key in loc:
        models = _models(annotation)
        if len(models) > 1 and isinstance(node, dict) and key == node.get("type"):
            annotation = _model_for(annotation, node)
            continue
        if node is not None and not isinstance(node, (dict, list)) and isinstance(key, str):
            continue  # a tag below a scalar: the scalar itself is the problem
        if isinstance(node, list) and isinstance(key, str):
            continue  # a list is indexed by numbers: a name here is a union's tag (output.snapshots)
        path.append(key)
        annotation = _annotation_of(annotation, node, key)
        node = _child(node, key)
    return tuple(path)


def _annotation_of(annotation: Any, node: Any, key: Any) -> Any:
    model = _model_for(annotation, node)
    if model is not None:
        field = model.model_fields.get(key)
        return field.annotation if field is not None else None
    return _list_item(annotation)


def _describe(err: dict, schema: Any, data: Any, path: KeyPath) -> tuple[str, str | None]:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "missing":
        return "is required", None
    if kind == "extra_forbidden":
        allowed = fields_at(schema, data, path[:-1]) or []
        key = str(path[-1])
        if ":" in key and key.split(":")[0] in allowed:  # `data:{dataset: iris}` reads as one key
            return f"unknown key {key!r}", f"a key needs a space after its colon: `{key.split(':')[0]}: ...`"
        home = _section_holding(schema, data, path[:-1], key) or _section_holding(schema, data, (), key)
        if home is not None and closest(key, allowed) is None:  # `epochs` at the top: it lives in `training`
            return f"unknown key {key!r}", f"did you mean {home}.{key}? (`{key}` belongs under `{home}:`)"
        return f"unknown key {path[-1]!r}", _suggest(key, allowed, "allowed keys")
    if kind == "literal_error":
        options = [o.strip(" '\"") for o in ctx.get("expected", "").replace(" or ", ", ").split(",")]
        return f"unknown value {value!r}", _suggest(str(value), options, "choose one of")
    if kind == "union_tag_invalid":
        options = [o.strip(" '\"") for o in str(ctx.get("expected_tags", "")).split(",")]
        return f"unknown type {ctx.get('tag')!r}", _suggest(str(ctx.get("tag")), options, "choose one of")
    if kind == "union_tag_not_found":
        return "needs a `type:` key", None
    if kind in _BOUNDS:
        sign, key = _BOUNDS[kind]
        return f"must be {sign} {_bound(ctx.get(key))} (got {show_value(value)})", None
    if kind == "finite_number":
        return f"must be a finite number (got {show_value(value)})", None
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)", None
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} item(s)", None
    if kind == "string_pattern_mismatch":
        return f"{value!r} is not allowed here", "use letters, digits, '.', '_' and '-' (64 at most)"
    if kind in _TYPE_WORDS:
        return f"must be {_TYPE_WORDS[kind]} (got {show_value(value)})", _unquote_hint(kind, value, path)
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, "), None
    return str(err["msg"]), None


def _unquote_hint(kind: str, value: Any, path: KeyPath) -> str | None:
    """`lr: "0.01"` is text in YAML: when the text is the number (or true/false) wanted, say to drop the quotes."""
    if not isinstance(value, str) or not path:
        return None
    text = value.strip()
    wants_number = kind.startswith(("int_", "float_"))
    if wants_number and _is_number(text) or kind.startswith("bool_") and text in ("true", "false"):
        return f"remove the quotes: `{path[-1]}: {text}` (a quoted value is text in YAML)"
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _bound(value: Any) -> Any:
    """1.0 -> 1 in "must be < 1": a bound reads as the user would write it."""
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 1e15 else value


def _suggest(name: str, options: Sequence[str], label: str) -> str:
    close = closest(name, options)
    if close:
        return f"did you mean {close!r}?"
    return f"{label}: {', '.join(sorted(options))}" if options else ""


def _section_holding(schema: Any, data: Any, path: KeyPath, key: str) -> str | None:
    """The name of the section one level down from `path` whose keys include `key`, if exactly one does."""
    for name in fields_at(schema, data, path) or []:
        inner = fields_at(schema, data, (*path, name))
        if inner and key in inner:
            return ".".join(str(k) for k in (*path, name))
    return None


def fields_at(schema: Any, data: Any, path: KeyPath) -> list[str] | None:
    """The keys the schema allows at `path` (following discriminated unions by the data's `type`)."""
    annotation, node = schema, data
    for key in path:
        annotation = _annotation_of(annotation, node, key)
        if annotation is None:
            return None
        node = _child(node, key)
    model = _model_for(annotation, node)
    return list(model.model_fields) if model is not None else None


def _members(annotation: Any) -> list:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _models(annotation: Any) -> list[type[BaseModel]]:
    return [m for m in _members(annotation) if isinstance(m, type) and issubclass(m, BaseModel)]


def _model_for(annotation: Any, node: Any) -> type[BaseModel] | None:
    if isinstance(annotation, TypeAdapter) or annotation is None:
        return None
    models = _models(annotation)
    if len(models) <= 1:
        return models[0] if models else None
    tag = node.get("type") if isinstance(node, dict) else None
    for model in models:
        type_field = model.model_fields.get("type")
        if type_field is not None and tag in typing.get_args(type_field.annotation):
            return model
    return None


def _list_item(annotation: Any) -> Any:
    for member in _members(annotation):
        if typing.get_origin(member) is list:
            return typing.get_args(member)[0]
    return None


def _child(node: Any, key: Any) -> Any:
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None
