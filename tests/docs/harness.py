"""Run the shell blocks of a Markdown page the way a reader would: top to bottom, in one shell, in an empty folder.

A page's fenced ```bash blocks run in order in one bash process (so a `cd` or a variable carries on to the
next block), in a fresh temporary folder beside links to the repository's configs/, datasets/ and docs/.
`backprop` is this checkout's (`python -m backprop_cli`, started warm: tests/warm_process.py); `train`, `cv`
and `sweep` (not the resume of a cv or sweep, which refuses --set) get a small epoch budget
(`--set training.epochs=N`, N = EPOCHS unless the page says otherwise), and MNIST is the bundled slice
of 500 training images, so a page runs in seconds. Paths under /tmp/ are
moved into the temporary folder.

An HTML comment right before a fence steers it:
    <!-- test: skip REASON -->   not run (an install line, a Dask address, a training of hours); the
                                 commands in it are still parsed by the CLI (see test_docs_parse.py)
    <!-- test: exit N -->        the block shows a refusal: its last command must exit N
    <!-- test: expect TEXT -->   TEXT must appear in what the block prints (stdout and stderr)
    <!-- test: as-is -->         no epoch budget for this block (it is short already, and its output is claimed)
and once anywhere on the page:
    <!-- test: epochs N -->      the page's epoch budget
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests import warm_process
from tests.datafiles import SLICE_DIR

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 1
FENCE = re.compile(r"(?P<directives>(?:<!-- test: [^>]*-->\s*\n)*)```(?P<lang>[\w-]*)\n(?P<body>.*?)\n```", re.S)
DIRECTIVE = re.compile(r"<!-- test: (?P<word>[\w-]+) ?(?P<arg>.*?)\s*-->")
PAGE_EPOCHS = re.compile(r"<!-- test: epochs (\d+) -->")
LINK = re.compile(r"!?\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")


@dataclass
class Block:
    page: Path
    line: int
    body: str
    skip: str | None = None
    exit_code: int = 0
    expect: list[str] = field(default_factory=list)
    as_is: bool = False

    @property
    def where(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page.name
        return f"{page}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The page's ```bash blocks with their directives."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        if match.group("lang") not in ("bash", "sh"):
            continue
        line = text.count("\n", 0, match.start("lang")) + 1
        block = Block(page, line, match.group("body"))
        for directive in DIRECTIVE.finditer(match.group("directives")):
            word, arg = directive.group("word"), directive.group("arg")
            if word == "skip":
                block.skip = arg or "marked skip"
            elif word == "exit":
                block.exit_code = int(arg)
            elif word == "expect":
                block.expect.append(arg)
            elif word == "as-is":
                block.as_is = True
        found.append(block)
    return found


def page_epochs(page: Path) -> int:
    found = PAGE_EPOCHS.search(page.read_text(encoding="utf-8"))
    return int(found.group(1)) if found else EPOCHS


PRELUDE = r"""
backprop() {
  local budget=""
  [[ "$1" == train ]] && budget=1
  [[ ("$1" == cv || "$1" == sweep) && " $* " != *" --resume "* ]] && budget=1
  if [[ -n "$budget" && -z "$DOCS_AS_IS" ]]; then
    "$DOCS_PYTHON" "$DOCS_WARM" "$@" --set "training.epochs=$DOCS_EPOCHS"
  else
    "$DOCS_PYTHON" "$DOCS_WARM" "$@"
  fi
}
export -f backprop
__docs_err() { echo "__DOCS_ERR $__DOCS_BLOCK $1 ${BASH_COMMAND//$'\n'/ }" >> "$DOCS_LOG"; }
trap '__docs_err $?' ERR
"""


@dataclass
class Outcome:
    block: Block
    status: int | None  # the block's last command's exit status; None: the page stopped before it
    output: str
    errors: list[tuple[int, str]]  # (status, command) of every command that failed inside the block


def run_page(page: Path, work: Path, timeout: float = 600, home: Path | None = None) -> list[Outcome]:
    """Run every block of `page` that is not skipped, in order, in `work`; one Outcome per block run.
    HOME is `home` (pages given the same one share a warm process), else `work`."""
    runnable = [b for b in blocks(page) if b.skip is None]
    for name in ("configs", "datasets", "docs"):
        (work / name).symlink_to(ROOT / name)
    tmp = work / "tmp"
    tmp.mkdir()
    log = work / ".docs-log"
    script = [PRELUDE]
    for i, block in enumerate(runnable):
        body = block.body.replace("/tmp/", f"{tmp}/")
        path = work / f".block-{i}.sh"
        path.write_text(body + "\n", encoding="utf-8")
        quoted = shlex.quote(str(path))
        as_is = "1" if block.as_is else ""
        script.append(
            f"__DOCS_BLOCK={i}; DOCS_AS_IS={as_is}; echo '__DOCS_BEGIN {i}'; "
            f'source {quoted}; echo "__DOCS_END {i} $?"'
        )
    env = {
        **os.environ,
        "DOCS_PYTHON": sys.executable,
        "DOCS_EPOCHS": str(page_epochs(page)),
        "DOCS_LOG": str(log),
        "HOME": str(home or work),
        "BACKPROP_DATA_DIR": str(SLICE_DIR),  # MNIST: the bundled slice, so a page's trainings take seconds
        "TMPDIR": str(tmp),
        "PYTHONUNBUFFERED": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # `python`: this one
        "NO_COLOR": "1",
        "DOCS_WARM": str(ROOT / "tests" / "warm_process.py"),  # `python -m backprop_cli`, started warm
    }
    env[warm_process.ADDRESS_VAR] = warm_process.address_for(env)
    done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout, stdin=subprocess.DEVNULL)  # fmt: skip
    return _outcomes(runnable, done.stdout, log)


def _outcomes(runnable: list[Block], output: str, log: Path) -> list[Outcome]:
    errors: dict[int, list[tuple[int, str]]] = {}
    if log.exists():
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            _, index, status, command = line.split(" ", 3)
            errors.setdefault(int(index), []).append((int(status), command))
    outcomes = []
    for i, block in enumerate(runnable):
        section = re.search(rf"__DOCS_BEGIN {i}\n(.*?)__DOCS_END {i} (\d+)\n", output, re.S)
        if section is None:
            outcomes.append(Outcome(block, None, output[-2000:], errors.get(i, [])))
            break
        outcomes.append(Outcome(block, int(section.group(2)), section.group(1), errors.get(i, [])))
    return outcomes


def problems(outcome: Outcome) -> list[str]:
    """What is wrong with one block's run, as lines for an assertion message (empty: it did what it says)."""
    block, found = outcome.block, []
    if outcome.status is None:
        return [f"{block.where}: the page stopped before this block ended"]
    if block.exit_code == 0:
        found += [f"{block.where}: `{command}` exited {status}" for status, command in outcome.errors]
    elif outcome.status != block.exit_code:
        found.append(f"{block.where}: the block should end with exit {block.exit_code}, it ended with {outcome.status}")
    for text in block.expect:
        if text not in outcome.output:
            found.append(f"{block.where}: the output does not contain {text!r}")
    return found


def links(page: Path) -> list[tuple[str, Path]]:
    """(link as written, the file it names) for every relative link and image of a page."""
    found = []
    for match in LINK.finditer(page.read_text(encoding="utf-8")):
        target = match.group("target").split("#", 1)[0]
        if not target or re.match(r"[a-z]+:", target):
            continue
        found.append((match.group("target"), (page.parent / target).resolve()))
    return found
