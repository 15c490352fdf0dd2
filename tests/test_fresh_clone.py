"""The suite runs in a fresh clone with nothing beside it: the guards that keep it so."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.datafiles import SLICE_DIR, SLICE_FILES

ROOT = Path(__file__).resolve().parents[1]


def test_no_test_reaches_outside_the_project_except_through_datafiles():
    """../shared is looked up in one place (tests/datafiles.py, honouring BACKPROP_DATA_DIR); acceptance never."""
    outside = re.compile(r"""["'](shared|acceptance)["']|\.\./shared|shared/acceptance""")
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path.name in ("datafiles.py", "test_fresh_clone.py", "make_mnist_slice.py"):
            continue
        found = outside.search(path.read_text(encoding="utf-8"))
        assert found is None, f"{path.relative_to(ROOT)} reads outside the project: {found.group(0)!r}"


def test_the_mnist_slice_ships_with_the_tests():
    assert sorted(p.name for p in (SLICE_DIR / "mnist").iterdir()) == sorted(f.name for f in SLICE_FILES)
    tracked = subprocess.run(["git", "ls-files", "tests/fixtures/data"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode == 0:  # in a git checkout: committed, not just present here
        assert len(tracked.stdout.split()) == len(SLICE_FILES), tracked.stdout


def test_ci_runs_the_readmes_test_command_in_a_clone_with_nothing_beside_it():
    run = (ROOT / ".ci" / "run").read_text()
    guard = (ROOT / ".ci" / "fresh-clone").read_text()
    assert "pip install --quiet -e '.[test]'" in run and run.rstrip().endswith(".ci/fresh-clone")
    assert "git clone" in guard and "mktemp -d" in guard and "env -u CI -u BACKPROP_DATA_DIR" in guard
    readme = (ROOT / "README.md").read_text()
    quickstart = re.search(r"^## Quickstart\n(.*?)(?=^## )", readme, re.S | re.M).group(1)
    commands = re.search(r"```bash\n(.*?)```", quickstart, re.S).group(1).strip().splitlines()
    assert len(commands) == 2 and "python -m pytest" in commands[1]  # the line the guard runs
