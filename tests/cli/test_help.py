"""Every command's --help speaks one voice: short metavars, no Python types, arguments in capitals, an example
that names the command; and the README's command table lists exactly the commands there are."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import typer

from backprop_cli.cli import app, click_command
from backprop_cli.cli.helptext import tidy
from tests.reliability.helpers import in_process

ROOT = Path(__file__).resolve().parents[2]


def _commands(command, path=()):
    if hasattr(command, "commands"):
        for name, inner in command.commands.items():
            yield from _commands(inner, (*path, name))
    else:
        yield path


@cache
def whole_tree():
    """The click tree of every command, built and tidied as the app did before it built one command alone."""
    command = typer.main.get_command(app)
    tidy(command)
    return command


def registered() -> list[tuple[str, ...]]:
    return sorted(_commands(whole_tree()))


def _help(command, path: tuple[str, ...]) -> str:
    context = command.make_context("backprop", [], resilient_parsing=True)
    for name in path:
        command = command.commands[name]
        context = command.make_context(name, [], parent=context, resilient_parsing=True)
    return command.get_help(context)


@pytest.mark.parametrize("path", registered(), ids=" ".join)
def test_the_tree_built_for_one_command_has_its_help_and_nothing_else(path):
    """A process builds only the command it runs (click_command(name)): the same options, help and example."""
    alone = click_command(path[0])
    assert list(alone.commands) == [path[0]]
    assert _help(alone, path) == _help(whole_tree(), path)


@pytest.mark.parametrize("path", registered(), ids=" ".join)
def test_help_has_short_metavars_capital_arguments_and_an_example(path):
    result = in_process(*path, "--help")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert not re.search(r"<(list|int|float|str|path|bool)[^>]*>", text), text
    usage = text.splitlines()[0]
    assert not re.search(r"[\[{][a-z_]+[\]}]", usage), usage  # an argument in lower case: `{config}`
    assert re.search(rf"Example: backprop {' '.join(path)}\b", text), text


def _table_commands(readme: str) -> set[tuple[str, ...]]:
    """`backprop runs list|show CONFIG` in the first cell of a table row -> {(runs, list), (runs, show)}."""
    found = set()
    for first in re.findall(r"^\| `backprop ([^`]+)`", readme, re.M):
        words = first.split()
        head, rest = words[0], words[1:2]
        if rest and re.fullmatch(r"[a-z-]+(\\?\|[a-z-]+)*", rest[0]):
            found |= {(head, sub) for sub in re.split(r"\\?\|", rest[0])}
        else:
            found.add((head,))
    return found


def test_the_readme_command_table_lists_exactly_the_registered_commands():
    listed = _table_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    groups = {path[0] for path in registered() if len(path) > 1}
    expected = {path for path in registered() if path[0] not in groups} | {p for p in registered() if len(p) > 1}
    subcommand_rows = {p for p in listed if len(p) > 1 and p[0] not in groups}  # `exercise check FILE`
    assert listed - subcommand_rows == expected, (sorted(expected - listed), sorted(listed - expected))
