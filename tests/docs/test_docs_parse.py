"""What the README, the docs pages and the example configs name is real: every file path exists, every
`backprop ...` command parses (skipped blocks too), and every `--set` it gives to a config in configs/
validates against that config. Running the pages' blocks is test_docs_run.py's job."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.docs.harness import blocks
from tests.reliability.helpers import in_process

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "configs").glob("*.yaml"))]
PATH = re.compile(r"(?<![\w/.-])((?:configs|docs|bench|datasets|backprop_cli|tests)/[A-Za-z0-9_./-]*[A-Za-z0-9_/])")
SEPARATORS = {";", "|", "||", "&&", "&", "do", "done", "then", "fi", "(", ")", ">", ">>", "<"}  # a redirect ends it too


def doc_text(path: Path) -> str:
    """The README whole; a config's comments only."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".yaml":
        return "\n".join(line.split("#", 1)[1] for line in text.splitlines() if "#" in line)
    return text


def shell_lines(path: Path) -> list[str]:
    """Lines of shell: the README's ```bash blocks, and `#   backprop ...` lines or `backprop ...` spans of a config."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".yaml":
        comments = [line.split("#", 1)[1].strip() for line in text.splitlines() if "#" in line]
        spans = [s for c in comments for s in re.findall(r"`(backprop [^`]+)`", c)]
        return [c for c in comments if c.startswith("backprop ") or " backprop " in c and "`" not in c] + spans
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", text, re.S)
    return [line.split(" #", 1)[0] for block in blocks for line in _outside_heredocs(block) if not line.startswith("#")]


def refusal_lines(path: Path) -> list[str]:
    """Lines of the blocks a page marks as refusals (`<!-- test: exit 2 -->`): they parse, but their --set
    values are wrong on purpose."""
    if path.suffix != ".md":
        return []
    return [line for block in blocks(path) if block.exit_code != 0 for line in _outside_heredocs(block.body)]


def _outside_heredocs(block: str) -> list[str]:
    """The block's lines of shell, without the bodies of its here-documents (a file's text, not commands)."""
    lines, until = [], None
    for line in block.splitlines():
        if until is not None:
            until = None if line.strip() == until else until
            continue
        marker = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", line)
        until = marker.group(1) if marker else None
        lines.append(line)
    return lines


def backprop_commands(line: str) -> list[list[str]]:
    """Every `backprop ...` argv in a line of shell, `$(...)` substitutions included."""
    inner = re.findall(r"\$\(([^()]*)\)", line)
    line = re.sub(r"\$\([^()]*\)", "RUN", line)
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";|&()<>")
    lexer.whitespace_split = True
    commands, current = [], []
    for token in [*lexer, ";"]:
        if token in SEPARATORS or token.startswith("#"):
            if current[:1] == ["backprop"]:
                commands.append(current[1:])
            current = []
        else:
            current.append(token)
    return commands + [c for text in inner for c in backprop_commands(text)]


REFUSALS = {(p.name, tuple(c)) for p in DOCS for line in refusal_lines(p) for c in backprop_commands(line)}
COMMANDS = sorted({(p.name, tuple(c)) for p in DOCS for line in shell_lines(p) for c in backprop_commands(line)})
PATHS = sorted({(p.name, m) for p in DOCS for m in PATH.findall(doc_text(p)) if "*" not in m})


def test_the_docs_name_commands_and_paths_to_check():
    assert len(COMMANDS) >= 20 and len(PATHS) >= 10, (len(COMMANDS), len(PATHS))


@pytest.mark.parametrize("doc, path", PATHS)
def test_every_path_named_in_the_readme_and_the_configs_exists(doc, path):
    assert (ROOT / path).exists(), f"{doc} names {path}, which does not exist"


@pytest.mark.parametrize("doc, argv", COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else v)
def test_every_backprop_command_in_the_docs_parses(doc, argv):
    result = in_process(*argv, "--help", cwd=ROOT)  # parsed in full (commands, options, arity), then help
    assert result.returncode == 0, f"{doc}: backprop {' '.join(argv)}\n{result.stderr}"


def config_and_sets(argv: tuple[str, ...]) -> tuple[str, list[str]] | None:
    """(config file, --set items) of a command that trains or checks an example config."""
    if argv[:1] not in (("train",), ("gradcheck",)) and argv[:2] not in (("config", "show"), ("config", "validate")):
        return None
    config = next((a for a in argv if a.startswith("configs/") and a.endswith(".yaml")), None)
    sets = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--set"]
    return (config, sets) if config else None


def command_id(value) -> str:
    return " ".join(value) if isinstance(value, tuple) else value


@pytest.mark.parametrize(
    "doc, argv", [c for c in COMMANDS if config_and_sets(c[1]) and c not in REFUSALS], ids=command_id
)
def test_every_example_config_with_its_overrides_validates(doc, argv):
    config, sets = config_and_sets(argv)
    sets = [s.replace("$o", "sgd") for s in sets]
    result = in_process("config", "validate", config, *[a for s in sets for a in ("--set", s)], cwd=ROOT)
    assert result.returncode == 0, f"{doc}: backprop {' '.join(argv)}\n{result.stderr}"
