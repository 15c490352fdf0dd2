"""Output of the teaching verbs (explain, trace, lr-find): headings and titled blocks of lines.

On a terminal each block is a rich panel; elsewhere (pipes, files, CI) plain text with no control
characters. Text is never read as rich markup: formulas are full of [n,c,i,j].
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field


@dataclass
class Block:
    title: str
    lines: list[str] = field(default_factory=list)
    heading: bool = False  # a section heading ("FORWARD"), not a panel


def heading(text: str) -> Block:
    return Block(text, heading=True)


def print_blocks(blocks: list[Block], rich: bool | None = None) -> None:
    """Blocks to stdout: rich panels on a terminal (or when `rich` says so), plain text elsewhere."""
    if rich if rich is not None else sys.stdout.isatty():
        _print_rich(blocks)
        return
    out = []
    for block in blocks:
        if block.heading:
            out.append(f"\n{block.title}")
            continue
        out.append(block.title)
        out.extend(f"    {line}" for line in block.lines)
    print("\n".join(out).lstrip("\n"))


def _print_rich(blocks: list[Block]) -> None:
    from rich.console import Console
    from rich.panel import Panel
    from rich.rule import Rule
    from rich.text import Text

    console = Console(highlight=False)
    for block in blocks:
        if block.heading:
            console.print(Rule(Text(block.title, style="bold")))
        else:
            body = Text("\n".join(block.lines))
            console.print(Panel(body, title=Text(block.title, style="bold cyan"), title_align="left", expand=False))


def note(text: str) -> None:
    """A remark for people, on stderr (what was summarised, what was capped)."""
    print(f"note: {text}", file=sys.stderr)


def load_located(config, overrides, build):
    """build(config) for the loaded config; a ConfigError found after validation (a shape that does not fit,
    the class count) names the file line of the key, as `train` does."""
    from backprop_cli.config.load import load_config
    from backprop_cli.errors import ConfigError

    loaded = load_config(config, overrides or [])
    try:
        return loaded.config, build(loaded.config)
    except ConfigError as err:
        raise loaded.locate(err) from None
