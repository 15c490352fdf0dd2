"""The suite runs in a fresh clone with nothing beside it: the guards that keep it so."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.datafiles import SLICE_DIR, SLICE_FILES

ROOT = Path(__file__).resolve().parents[1]


def test_no_test_reaches_outside_the_project_except_through_datafiles():
    """../shared is looked up in one place (tests/datafiles.py, honouring BACKPROP_DATA_DIR); acceptance never."""
    outside = re.compile(r"""["'](shared|acceptance)["']|\.\./shared|shared/acceptance""")
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path.name in ("datafiles.py", "test_fresh_clone.py", "test_repository_text.py", "make_mnist_slice.py"):
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


GUARDED = """\
import pytest

{module_level}

def test_in_a_function():
    pytest.importorskip("no_such_package_for_the_guard")

def test_another_skip():
    pytest.skip("not about a package")
"""


def test_with_ci_true_a_skip_for_a_missing_package_fails_and_elsewhere_it_skips(tmp_path):
    """One module skips inside its tests, another at module level; each run collects both (two pytest processes
    in all: the guard's hooks are those of a real session)."""
    (tmp_path / "conftest.py").write_text("from tests.ci_guard import *  # noqa: F403\n")
    (tmp_path / "test_in_a_test.py").write_text(GUARDED.format(module_level=""))
    module = 'pytest.importorskip("no_such_package_for_the_guard")'
    (tmp_path / "test_at_module_level.py").write_text(GUARDED.format(module_level=module))
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the guard needs no plugin; loading them all is most of the time

    def run(**extra):
        args = [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider"]
        args += ["--continue-on-collection-errors", str(tmp_path)]
        return subprocess.run(args, cwd=tmp_path, env={**env, **extra}, capture_output=True, text=True, timeout=120)

    local, ci = run(), run(CI="true")
    assert local.returncode == 0 and "failed" not in local.stdout and "error" not in local.stdout, local.stdout
    assert "3 skipped" in local.stdout, local.stdout  # two in test_in_a_test, the whole other module
    assert ci.returncode == 1, ci.stdout
    assert "CI=true: this test may not skip for a missing optional package" in ci.stdout
    assert "could not import 'no_such_package_for_the_guard'" in ci.stdout
    assert "ERROR test_at_module_level.py" in ci.stdout, ci.stdout  # the module-level skip fails its collection
    assert "FAILED test_in_a_test.py::test_in_a_function" in ci.stdout, ci.stdout
    assert "1 failed, 1 skipped, 1 error" in ci.stdout, ci.stdout  # a skip for another reason stays a skip


def test_no_test_imports_pytorch_its_numbers_are_recorded_fixtures():
    """The cross-checks against PyTorch read tests/fixtures/torch; only the script that records them imports it."""
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path.name in ("make_torch_fixtures.py", "test_fresh_clone.py"):
            continue
        text = path.read_text(encoding="utf-8")
        assert 'importorskip("torch")' not in text, path.relative_to(ROOT)
        assert "\nimport torch" not in text and "\nfrom torch" not in text, path.relative_to(ROOT)


def test_the_suites_conftest_installs_the_ci_guard():
    import tests.ci_guard as guard
    import tests.conftest as conftest

    assert conftest.pytest_runtest_makereport is guard.pytest_runtest_makereport
    assert conftest.pytest_make_collect_report is guard.pytest_make_collect_report
