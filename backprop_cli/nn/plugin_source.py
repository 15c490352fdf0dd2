"""Where a user's layer code comes from: only files and texts the user handed over in this process.

A plugin's source is known by its SHA-256. It enters this process's table in exactly three ways, each
an act of the user: the config they run names the file (config/load.py reads it), `--plugin FILE` on
eval/predict/export/generate/train --resume, or the text shipped with a sweep or cv task (which the
user's sweep file named). Nothing else reads plugin code: a checkpoint or a run directory only names a
hash, and the layer is built from the source with that hash or not at all.

The module is executed once per source and process, from the exact text that was hashed (never
re-read from disk), under the file's own name, so that a traceback points into the user's file.
"""

from __future__ import annotations

import hashlib
import linecache
import os
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

from backprop_cli.errors import ConfigError, UserError

MAX_SOURCE_BYTES = 1 << 20  # a layer in one file; a megabyte of Python is not that


class PluginError(ConfigError):
    """A user's layer cannot be admitted: its code is missing, does not match its hash, or misbehaves."""


@dataclass(frozen=True)
class PluginSource:
    name: str  # the file's name, for messages: swish.py
    path: str  # where it was read from (absolute), or the name it was shipped under
    text: str
    sha256: str


_PROVIDED: dict[str, PluginSource] = {}  # sha256 -> source
_BY_PATH: dict[str, str] = {}  # absolute path -> sha256 of what was read there
_MODULES: dict[str, types.ModuleType] = {}  # sha256 -> the executed module


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def provide_text(name: str, text: str, path: str | None = None) -> PluginSource:
    """Register a source the user handed over (its hash is computed here, from the text itself)."""
    source = PluginSource(Path(name).name, path or name, text, sha256_of(text))
    _PROVIDED.setdefault(source.sha256, source)
    if path is not None:
        _BY_PATH[path] = source.sha256
    return source


def provide_file(path: str | os.PathLike[str], where: str, error: type[UserError] = ConfigError) -> PluginSource:
    """Read a plugin file (a regular file, bounded, UTF-8) and register it; `where` names it in errors."""
    from backprop_cli.userfiles import read_regular

    full = os.path.abspath(path)
    try:
        raw = read_regular(full, where, MAX_SOURCE_BYTES, error)
    except FileNotFoundError:
        raise error(f"plugin file not found: {full}", where=where, fix="check the path") from None
    except IsADirectoryError:
        raise error(f"{full} is a directory, not a Python file", where=where, fix="name the .py file") from None
    except OSError as err:
        raise error(f"cannot read {full}: {err.strerror or err}", where=where) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(f"{full} is not UTF-8 text (byte {err.start})", where=where, fix="save it as UTF-8") from None
    return provide_text(full, text, path=full)


def provided() -> list[PluginSource]:
    return list(_PROVIDED.values())


def source_for(path: str, sha256: str | None, label: str, where: str | None) -> PluginSource:
    """The source a layer spec names: by its hash (a checkpoint, a resolved config), else by the file the
    user's config named. Missing: a PluginError saying how to hand it over, never a read of `path`."""
    if sha256 is None:
        sha256 = _BY_PATH.get(os.path.abspath(path))
    if sha256 is not None and sha256 in _PROVIDED:
        return _PROVIDED[sha256]
    name = Path(path).name
    given = [s for s in _PROVIDED.values() if s.name == name]  # another version of the same file
    if sha256 is not None and given:
        hashes = ", ".join(f"{s.path} has sha256 {s.sha256}" for s in given)
        raise PluginError(
            f"{label}: the layer was trained with {name} of sha256 {sha256}, but {hashes}",
            where=where,
            fix="pass the exact file the run was trained with (it changed since); "
            "a copy of its source is in the run directory's plugins/ folder",
        )
    raise PluginError(
        f"{label} is a plugin layer: its code ({name}) is never run from a checkpoint or a run directory",
        where=where,
        fix=f"pass --plugin {name} (the file the run was trained with" + (f", sha256 {sha256})" if sha256 else ")"),
    )


def module_of(source: PluginSource) -> types.ModuleType:
    """Execute a source once (per process) as a module named after its hash; errors name the user's line."""
    if source.sha256 in _MODULES:
        return _MODULES[source.sha256]
    name = f"backprop_plugin_{source.sha256[:16]}"
    module = types.ModuleType(name)
    module.__file__ = source.path
    # tracebacks read the executed text, even when the file was edited (or never existed here)
    linecache.cache[source.path] = (len(source.text), None, source.text.splitlines(True), source.path)
    sys.modules[name] = module  # dataclasses and pickling look a class's module up here
    try:
        exec(compile(source.text, source.path, "exec"), module.__dict__)  # noqa: S102 - the user asked for it
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any error of the user's module is theirs
        del sys.modules[name]
        raise PluginError(f"{source.name} could not be loaded: {describe_exception(exc, source.path)}") from None
    _MODULES[source.sha256] = module
    return module


def describe_exception(exc: BaseException, path: str) -> str:
    """`ZeroDivisionError: division by zero (swish.py, line 12, in forward: return x / 0)`: the error and
    the last frame in the user's file (never one of ours)."""
    if isinstance(exc, SyntaxError) and exc.filename == path:
        return f"{type(exc).__name__}: {exc.msg} ({Path(path).name}, line {exc.lineno}: {(exc.text or '').strip()})"
    text = f"{type(exc).__name__}: {exc}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    if not frames:
        return text
    last = frames[-1]
    return f"{text} ({Path(path).name}, line {last.lineno}, in {last.name}: {(last.line or '').strip()})"
