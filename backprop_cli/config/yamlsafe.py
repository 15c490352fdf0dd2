"""YAML read as data, never as code: our own constructor over PyYAML's safe composer.

Why not `yaml.safe_load`: it accepts duplicate keys silently, reads `010` as octal 8, `yes`/`on` as
booleans and `1e-3` as a string, and expands alias bombs when the result is walked. Here each scalar
is resolved by YAML 1.2 core rules, the YAML 1.1 traps are errors, duplicates name both lines,
only standard tags are allowed, and the size of the result is bounded. Every key path gets its line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from backprop_cli.errors import ConfigError
from backprop_cli.userfiles import open_regular, read_bounded

MAX_FILE_BYTES = 1_000_000
MAX_NODES = 100_000  # an alias bomb expands far past this; a real config is a few hundred nodes
MAX_DEPTH = 64

_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)")
_LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?")
_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_YAML11_BOOLS = {"yes", "no", "on", "off", "y", "n"}
_SPECIAL_FLOATS = {".nan": float("nan"), ".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf")}
_PLAIN = "!backprop/plain"
_STANDARD_TAGS = {_PLAIN} | {"tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "map", "seq")}


class _Loader(yaml.SafeLoader):
    """Tags every unquoted scalar as plain, so that we resolve it ourselves (and see explicit tags)."""

    yaml_implicit_resolvers: dict = {}


_Loader.add_implicit_resolver(_PLAIN, re.compile(r".*", re.DOTALL), None)

Path_ = tuple  # a key path: ("model", "layers", 2, "units")


class YamlDoc:
    """The parsed data plus the line of every key path, so that errors can point at the file."""

    def __init__(self, data, lines: dict[Path_, int], source: str):
        self.data = data
        self.lines = lines
        self.source = source

    def line_of(self, path: Path_) -> int | None:
        """The line of the deepest existing prefix of `path` (a missing key points at its parent)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def where(self, path: Path_) -> str:
        line = self.line_of(path)
        return f"{self.source}:{line}" if line else self.source


def read_yaml_file(path: str | Path) -> YamlDoc:
    """Read a config file; every failure is a ConfigError naming the file (and line)."""
    path = Path(path)
    try:
        with open_regular(path, str(path), ConfigError) as fp:  # a FIFO or a device is refused, never read
            size = os.fstat(fp.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise ConfigError(
                    f"config file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}",
                    where=str(path),
                    fix="a config describes one experiment: keep data in data files",
                )
            raw = read_bounded(fp, str(path), MAX_FILE_BYTES, ConfigError)
    except FileNotFoundError:
        raise ConfigError("config file not found", where=str(path), fix="check the path") from None
    except IsADirectoryError:
        inside = path / "config.yaml"  # a run directory: the resolved config it was trained with
        fix = f"a run's config is {inside}" if inside.is_file() else "give the path of a YAML file"
        raise ConfigError("is a directory, not a config file", where=str(path), fix=fix) from None
    except OSError as err:
        raise ConfigError(f"cannot read config file: {err.strerror}", where=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"not UTF-8 text (byte {err.start})", where=str(path), fix="save the file as UTF-8") from None
    return parse_yaml(text, str(path))


def parse_yaml(text: str, source: str) -> YamlDoc:
    """Parse YAML text (a file's or a --set value's) into plain data with a line per key path."""
    try:
        _check_depth(text, source)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as err:
        raise ConfigError(_yaml_problem(err), where=_mark(source, err.problem_mark), fix=yaml_hint(err, text)) from None
    except yaml.reader.ReaderError as err:  # a control character: its position is an offset into the text
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        code = err.character if isinstance(err.character, int) else ord(err.character)
        raise ConfigError(
            f"holds the control character U+{code:04X}, which YAML does not allow",
            where=f"{source}:{line}:{column}",
            fix="remove it (configs are plain text)",
        ) from None
    except yaml.YAMLError as err:
        raise ConfigError(f"not valid YAML: {err}", where=source) from None
    except RecursionError:
        raise ConfigError("nesting is too deep", where=source, fix=f"keep it under {MAX_DEPTH} levels") from None
    builder = _Builder(source)
    data = None if node is None else builder.build(node, (), 0)
    return YamlDoc(data, builder.lines, source)


_OPENS = (
    yaml.FlowSequenceStartToken,
    yaml.FlowMappingStartToken,
    yaml.BlockMappingStartToken,
    yaml.BlockSequenceStartToken,
)
_CLOSES = (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken, yaml.BlockEndToken)


def _check_depth(text: str, source: str) -> None:
    """Refuse deep nesting from the token stream, before the (recursive) composer sees it."""
    depth = 0
    for token in yaml.scan(text, Loader=_Loader):
        if isinstance(token, _OPENS):
            depth += 1
            if depth > MAX_DEPTH:
                raise ConfigError(
                    "nesting is too deep",
                    where=_mark(source, token.start_mark),
                    fix=f"keep it under {MAX_DEPTH} levels",
                )
        elif isinstance(token, _CLOSES):
            depth -= 1


def _mark(source: str, mark) -> str:
    return f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source


def _yaml_problem(err: yaml.MarkedYAMLError) -> str:
    problem = err.problem or "not valid YAML"
    if "\\t" in problem or "tab" in problem:
        return "tabs are not allowed for indentation; use spaces"
    context = f" ({err.context})" if err.context else ""
    return f"{problem}{context}"


_NO_SPACE = re.compile(r"^\s*(?:- )?[A-Za-z_][\w.-]*:[^\s:/]")  # `lr:0.1`, `data:{...}`: a key glued to its value


def yaml_hint(err: yaml.MarkedYAMLError, text: str) -> str | None:
    """What PyYAML's message usually means, in plain words, for the common slips; None when unsure."""
    problem, context = err.problem or "", err.context or ""
    opened = err.context_mark.line + 1 if err.context_mark is not None else None
    if "quoted scalar" in context:
        return f"a quote opened on line {opened} is never closed; end the text with the same quote"
    if "flow mapping" in context or "flow sequence" in context:
        bracket = "{" if "mapping" in context else "["
        return (
            f"the `{bracket}` opened on line {opened} is not closed, or two of its items lack a comma between them; "
            f"close it with `{'}' if bracket == '{' else ']'}`"
        )
    row = err.problem_mark.line if err.problem_mark is not None else 0
    glued = next((n + 1 for n, line in enumerate(text.splitlines()[: row + 1]) if _NO_SPACE.match(line)), None)
    if glued is not None and ("mapping values" in problem or "expected" in problem or "could not find" in problem):
        return f"line {glued}: a key needs a space after its colon (`lr: 0.1`, not `lr:0.1`)"
    if "mapping values are not allowed" in problem:
        return "this line is indented deeper than the key above it, which already has a value; line up the keys"
    if "expected <block end>" in problem or "did not find expected key" in problem:
        return (
            "the indentation does not line up: keys of one section start in the same column, "
            "and list items (`- `) under their key in one column too"
        )
    return None


class _Builder:
    """Turns a composed node tree into dicts, lists and scalars, counting every node it visits."""

    def __init__(self, source: str):
        self.source = source
        self.lines: dict[Path_, int] = {}
        self.visited = 0

    def build(self, node, path: Path_, depth: int):
        self.visited += 1
        if self.visited > MAX_NODES:
            raise ConfigError(
                f"the document expands to more than {MAX_NODES:,} values (an alias bomb?)",
                where=_mark(self.source, node.start_mark),
                fix="remove the repeated aliases",
            )
        if depth > MAX_DEPTH:
            raise ConfigError("nesting is too deep", where=_mark(self.source, node.start_mark))
        self.lines.setdefault(path, node.start_mark.line + 1)
        if node.tag not in _STANDARD_TAGS:
            raise ConfigError(
                f"the tag {node.tag!r} is not allowed",
                where=_mark(self.source, node.start_mark),
                fix="configs hold plain values: remove the tag",
            )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _mapping(self, node, path: Path_, depth: int) -> dict:
        result: dict = {}
        first_line: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise ConfigError("merge keys (<<) are not supported", where=_mark(self.source, key_node.start_mark))
            key = self._scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise ConfigError("keys must be plain names", where=_mark(self.source, key_node.start_mark))
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise ConfigError(
                    f"duplicate key {'.'.join(map(str, (*path, key)))!r} (lines {first_line[key]} and {line})",
                    where=f"{self.source}:{line}",
                    fix="keep one of them",
                )
            first_line[key] = line
            self.lines[(*path, key)] = line
            result[key] = self.build(value_node, (*path, key), depth + 1)
            self.lines[(*path, key)] = line  # the key's line, not its value's
        return result

    def _scalar(self, node):
        value, tag = node.value, node.tag
        where = _mark(self.source, node.start_mark)
        if tag == _PLAIN:
            return resolve_plain_scalar(value, where)
        return _explicit(value, tag, where)


def resolve_plain_scalar(value: str, where: str):
    """YAML 1.2 core schema for unquoted scalars; YAML 1.1 readings that surprise people are errors."""
    if value in _NULL:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value.lower() in _YAML11_BOOLS:
        raise ConfigError(
            f"{value!r} is ambiguous (YAML 1.1 reads it as a boolean)",
            where=where,
            fix="write true or false, or quote it if you mean the text",
        )
    if _LEADING_ZERO.fullmatch(value):
        raise ConfigError(
            f"{value!r} has a leading zero (YAML 1.1 reads it as octal)",
            where=where,
            fix=f"write {value.lstrip('+-0') or '0'} or quote it",
        )
    if _INT.fullmatch(value):
        try:
            return int(value.replace("_", ""))
        except ValueError:  # Python refuses to convert more than 4300 digits
            raise ConfigError(
                f"an integer of {len(value):,} digits is too large", where=where, fix="write a smaller number"
            ) from None
    if _FLOAT.fullmatch(value):
        return float(value.replace("_", ""))
    if value.lower() in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value.lower()]
    return value


def _explicit(value: str, tag: str, where: str):
    """A scalar with an explicit standard tag (`!!int 3`) or a quoted one under a non-str tag."""
    if tag == "tag:yaml.org,2002:str":
        return value
    expected = {
        "tag:yaml.org,2002:int": int,
        "tag:yaml.org,2002:float": (int, float),
        "tag:yaml.org,2002:bool": bool,
        "tag:yaml.org,2002:null": type(None),
    }.get(tag)
    if expected is None:  # a key's own tag (`!: 1`), or !!map / !!seq on a scalar
        raise ConfigError(f"the tag {tag!r} is not allowed here", where=where, fix="remove the tag")
    resolved = resolve_plain_scalar(value, where)
    if not isinstance(resolved, expected):
        raise ConfigError(f"{value!r} is not a valid {tag.rsplit(':', 1)[-1]}", where=where)
    return float(resolved) if tag.endswith("float") else resolved
