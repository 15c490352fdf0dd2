"""Did-you-mean hints for names the user typed: a dataset, a column, an array in an .npz."""

from __future__ import annotations

from collections.abc import Iterable

from backprop_cli.config.names import closest


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """A fix hint: the closest option, else the list of options."""
    options = list(options)
    close = closest(name, options)
    if close:
        return f"did you mean {close!r}?"
    return f"choose one of: {', '.join(options)}" if options else "there is nothing to choose from"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
