"""Names looked up in a table (a layer type, an activation, a loss), with a did-you-mean on a miss.

Kept apart from the pydantic validation, so that building from a trusted, resolved config loads no pydantic.
"""

from __future__ import annotations

import difflib
from typing import Any

from backprop_cli.errors import ConfigError

# A run name (the config's `name`, or --run-name): one plain directory-name component, printable ASCII.
RUN_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
RUN_NAME_RULE = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit"


def closest(name: str, choices, cutoff: float = 0.6) -> str | None:
    """The choice nearest to `name`, compared without case (`Relu` -> `relu`, not `elu`); None if none is near.

    Names stay case-sensitive (`Relu` is refused, like any other unknown name): this only finds the hint.
    """
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(str(choice).lower(), str(choice))
    wanted = str(name).lower()
    if wanted in by_lower:
        return by_lower[wanted]
    close = difflib.get_close_matches(wanted, list(by_lower), n=1, cutoff=cutoff)
    return by_lower[close[0]] if close else None


def a_or_an(word: str) -> str:
    """The word with its indefinite article as it is said: "an attention", "an lstm" (el-), "a gru"."""
    spoken_vowel = word[:1].lower() in "aeiou" or word.lower().startswith(("lstm", "rnn", "mlp", "ndarray"))
    return f"{'an' if spoken_vowel and word else 'a'} {word}"


def suggest(name: str, choices) -> str:
    """A fix for a misspelt name: the closest choice, else the list of choices."""
    choices = sorted(choices)
    close = closest(name, choices)
    return f"did you mean {close!r}?" if close else f"choose one of {', '.join(choices)}"


def lookup(table, kind: str, name: Any, key_path: str) -> Any:
    """`table[name]`, or a ConfigError naming the key path with a did-you-mean."""
    if isinstance(name, str) and name in table:
        return table[name]
    if not isinstance(name, str):
        raise ConfigError(f"the {kind} must be a name (got {show_value(name)})", where=key_path, fix=suggest("", table))
    raise ConfigError(f"unknown {kind} {name!r}", where=key_path, fix=suggest(name, table))


def show_value(value: Any) -> str:
    """A value as the user wrote it in YAML: true, null, 'text', 3."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return repr(value) if isinstance(value, str) else str(value)
