"""The `backprop` command: one Typer app, one verb per module, one boundary that maps errors to exit codes.

Commands import the library inside their functions, so that `backprop --version` and `predict` start fast.
"""

from __future__ import annotations

import copy
import functools
import sys

import typer
from typer.core import TyperArgument

from backprop_cli import __version__
from backprop_cli.cli import check as check_cmd
from backprop_cli.cli import config as config_cmd
from backprop_cli.cli import cv as cv_cmd
from backprop_cli.cli import data as data_cmd
from backprop_cli.cli import diff as diff_cmd
from backprop_cli.cli import evaluate, generate, gradcheck, plot, predict, runs, train
from backprop_cli.cli import exercise as exercise_cmd
from backprop_cli.cli import explain as explain_cmd
from backprop_cli.cli import export as export_cmd
from backprop_cli.cli import import_weights as import_cmd
from backprop_cli.cli import lr_find as lr_find_cmd
from backprop_cli.cli import report as report_cmd
from backprop_cli.cli import sweep as sweep_cmd
from backprop_cli.cli import trace as trace_cmd
from backprop_cli.cli.output import (
    EXIT_BROKEN_PIPE,
    OutputError,
    StdoutClosed,
    fill_closed_std_streams,
    guard_stdout,
    silence_stdout,
)

# Help names an argument by its metavar (CONFIG, RUN...): typer would add its Python type (<path>, <list[Path]>).
TyperArgument.display_type_rich = lambda self, ctx: None


app = typer.Typer(
    name="backprop",
    help="Train neural networks written in plain NumPy, every backward pass explicit.",
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help, like git and pip: no boxes, no <bool> type column
)


def _version(value: bool) -> None:
    if value:
        guard_stdout(print)(f"backprop {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of an error."),
) -> None:
    """Train neural networks written in plain NumPy, every backward pass explicit."""


app.command(name="train")(train.train)
app.command(name="eval")(evaluate.evaluate)
app.command(name="predict")(predict.predict)
app.add_typer(config_cmd.app, name="config")
app.add_typer(data_cmd.app, name="data")
app.add_typer(runs.app, name="runs")
app.command(name="plot")(plot.plot)
app.command(name="gradcheck")(gradcheck.gradcheck)
app.command(name="export")(export_cmd.export)
app.command(name="import-weights")(import_cmd.import_weights)
app.command(name="explain")(explain_cmd.explain)
app.command(name="trace")(trace_cmd.trace)
app.command(name="lr-find")(lr_find_cmd.lr_find)
app.command(name="generate")(generate.generate)
app.command(name="sweep")(sweep_cmd.sweep)
app.command(name="cv")(cv_cmd.cv)
app.command(name="exercise")(exercise_cmd.exercise)
app.command(name="check")(check_cmd.check)
app.command(name="diff")(diff_cmd.diff)
app.command(name="report")(report_cmd.report)
for _typer in (app, config_cmd.app, data_cmd.app, runs.app):  # a closed stdout ends any command quietly
    for _info in _typer.registered_commands:
        _info.callback = guard_stdout(_info.callback)


def main() -> None:
    """Run the app; the project's errors become one message on stderr and their exit code."""
    from backprop_cli.errors import BackpropError, out_of_memory

    fill_closed_std_streams()  # `>&-`, `2>&-`: run without the stream, never write into a file that took its fd
    debug = "--debug" in sys.argv[1:]
    try:
        code = _run_app()
    except (BackpropError, MemoryError) as caught:  # a MemoryError the pre-flight did not foresee: exit 1, one line
        err = caught if isinstance(caught, BackpropError) else out_of_memory(caught)
        if debug:
            import traceback

            traceback.print_exc()
        print_error(err)
        if isinstance(err, OutputError):
            silence_stdout()
        sys.exit(err.exit_code)
    except (StdoutClosed, BrokenPipeError):
        silence_stdout()
        sys.exit(EXIT_BROKEN_PIPE)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _run_app():
    """The app without click's own error printing: a usage error is one `error:` line and exit 2, like the
    project's errors; a bare `backprop` (or `backprop config`) prints its help on stdout and exits 0, as pip does."""
    try:
        from typer._click import exceptions
    except ImportError:  # typer before 0.16 used click itself
        from click import exceptions
    command = click_command(_named_command(sys.argv[1:]))
    try:
        return command(standalone_mode=False, prog_name="backprop")
    except exceptions.NoArgsIsHelpError as err:
        print(err.ctx.get_help())
        return 0
    except exceptions.UsageError as err:
        from backprop_cli.cli.usage import usage_error

        raise usage_error(err, exceptions) from None
    except typer.Abort:
        return 130


@functools.cache
def click_command(name: str | None = None):
    """The click command tree of the app, or of the app with only the command (or group) `name`, tidied.

    Typer builds a command by reading its function's signature and evaluating its annotations: ~70 ms for
    all of them, against a few for the one a process runs. Cached, so that a process building it twice
    (the tests' in-process calls) builds it once."""
    from backprop_cli.cli.helptext import tidy

    source = app
    if name is not None:
        source = copy.copy(app)
        source.registered_commands = [info for info in app.registered_commands if info.name == name]
        source.registered_groups = [info for info in app.registered_groups if info.name == name]
    command = typer.main.get_command(source)
    tidy(command)
    return command


def _named_command(argv: list[str]) -> str | None:
    """The command or group the arguments start with; None (the whole app) for anything else: a root
    option, a typo to suggest a command for, the app's own help."""
    names = {info.name for info in [*app.registered_commands, *app.registered_groups]}
    return argv[0] if argv and argv[0] in names else None


def print_error(err) -> None:
    """One message: what, where, how to fix. Plain text off a terminal, red 'error:' on one."""
    prefix = "\x1b[1;31merror:\x1b[0m" if sys.stderr.isatty() else "error:"
    print(f"{prefix} {err}", file=sys.stderr)
