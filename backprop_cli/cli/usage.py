"""Click's usage errors in this tool's words: what is wrong, and how to fix it, like every other `error:` line.

Click says "Got unexpected extra argument(s) (b c)" or "No such option: --epochs"; the user needs to know
what the command takes instead. The commonest cause of extra arguments is a shell glob that matched
several runs (`backprop eval runs/quickstart-*`): then the message names the runs and the run-name handle.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path

from backprop_cli.errors import UserError

_INVALID = re.compile(r"Invalid value for '?(?P<what>[^':]+)'?: (?P<why>.*)")
_NO_COMMAND = re.compile(r"No such command '(?P<name>[^']*)'\.(?: Did you mean (?P<close>.*)\?)?")
_QUOTED = re.compile(r"'([^']*)'")
_EXTRA = re.compile(r"Got unexpected extra argument(?:s|\(s\))? \((?P<extra>.*)\)")


def usage_error(err, exceptions) -> UserError:
    """The UserError to print for click's UsageError `err` (`exceptions`: click's exception module)."""
    command = err.ctx.command_path if err.ctx is not None else "backprop"
    help_fix = f"see `{command} --help`"
    message = err.format_message().replace("\n", " ").rstrip(".")
    if isinstance(err, exceptions.NoSuchOption):
        return _no_such_option(err, command, help_fix)
    extra = _EXTRA.fullmatch(message)
    if extra and err.ctx is not None:
        return _extra_arguments(err.ctx, extra.group("extra").split(" "), command, help_fix)
    if isinstance(err, exceptions.MissingParameter) and err.param is not None:
        what = (
            err.param.metavar or err.param.name.upper()
            if err.param.param_type_name == "argument"
            else (err.param.opts[0])
        )
        return UserError(f"`{command}` needs {what}", fix=help_fix)
    invalid = _INVALID.fullmatch(message)
    if invalid:
        return UserError(f"{invalid.group('what')}: {invalid.group('why')}", fix=help_fix)
    unknown = _NO_COMMAND.fullmatch(message)
    if unknown:
        close = _QUOTED.findall(unknown.group("close") or "")
        fix = f"did you mean {' or '.join(close)}? ({help_fix})" if close else help_fix
        return UserError(f"`{command}` has no command {unknown.group('name')!r}", fix=fix)
    return UserError(message[:1].lower() + message[1:], fix=help_fix)


def _no_such_option(err, command: str, help_fix: str) -> UserError:
    option = err.option_name
    key = _config_key(option.lstrip("-").replace("-", "_"))
    if key:
        fix = f"config keys are set with --set KEY=VALUE: --set {key}=..."
    elif err.possibilities:
        fix = f"did you mean {' or '.join(sorted(err.possibilities))}? ({help_fix})"
    else:
        fix = help_fix
    return UserError(f"`{command}` has no option {option}", fix=fix)


def _extra_arguments(ctx, extra: list[str], command: str, help_fix: str) -> UserError:
    from backprop_cli.runs.rundir import is_run_dir

    arguments = [p for p in ctx.command.params if p.param_type_name == "argument"]
    names = " ".join(p.metavar or p.name.upper() for p in arguments) or "no arguments"
    given = [str(ctx.params.get(p.name)) for p in arguments if ctx.params.get(p.name) not in (None, (), [])]
    everything = given + extra
    if everything and all(is_run_dir(Path(arg)) for arg in everything):
        shown = ", ".join(everything[:3]) + (f" and {len(everything) - 3} more" if len(everything) > 3 else "")
        stem = re.sub(r"-\d{8}-\d{6}-[0-9a-f]{4}$", "", Path(everything[-1]).name)
        return UserError(
            f"{len(everything)} runs matched: {shown}; `{command}` takes one",
            fix=f"name one run, or give the run's name for its newest run: {Path(everything[-1]).parent / stem}",
        )
    return UserError(f"`{command}` takes {names}; these were left over: {' '.join(extra)}", fix=help_fix)


def _config_key(name: str) -> str | None:
    """`epochs` -> `training.epochs`: the dotted config key a mistaken option names, if one section has it."""
    from backprop_cli.config.schema import Config

    for section, field in Config.model_fields.items():
        if name == section:
            return section
        members = typing.get_args(field.annotation) or (field.annotation,)  # a union of models: any of them
        for member in (a for m in members for a in (typing.get_args(m) or (m,))):
            if name in (getattr(member, "model_fields", None) or {}):
                return f"{section}.{name}"
    return None
