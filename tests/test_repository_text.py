"""The repository speaks for itself: no tracked text cites an issue number or a file outside the repository.

A user of the repository has neither the issue tracker's numbers nor the design files beside the project,
so a docstring, page or bench note that points at them points at nothing.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.ci_guard import in_ci

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = re.compile(r"\bissues? #?\d+\b|\.\./shared\b|\b(?:FAULTS|STYLE|DESIGN)\.md\b", re.IGNORECASE)
# the guards that keep the suite runnable with nothing beside the clone must name what they keep out
GUARDS = {".ci/fresh-clone", "tests/test_fresh_clone.py", "tests/test_repository_text.py"}
TEXT = {".py", ".md", ".yaml", ".yml", ".toml", ".txt", ".cfg", ".ini", ".json", ""}


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        if in_ci():  # CI runs in a clone: there the check may not quietly stop
            pytest.fail("CI=true and not a git checkout: the tracked files are unknown")
        pytest.skip("not a git checkout: the tracked files are unknown")
    names = [n for n in listed.stdout.split("\0") if n and n not in GUARDS]
    return [ROOT / n for n in names if Path(n).suffix in TEXT and (ROOT / n).is_file()]


def test_no_tracked_text_cites_an_issue_number_or_a_file_outside_the_repository():
    found = []
    for path in tracked_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            match = OUTSIDE.search(line)
            if match:
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)!r}")
    assert not found, "cited from outside the repository:\n" + "\n".join(found[:40])


def test_the_pattern_catches_what_it_is_for():
    for cited in ("see issue 14", "Issue 6's targets", "issue #3", "../shared/datasets", "FAULTS.md", "design.md"):
        assert OUTSIDE.search(cited), cited
    for fine in ("an issue with the data", "tissue 5", "shared memory", "reissues 4"):
        assert not OUTSIDE.search(fine), fine
