"""With CI=true no test may skip because an optional package is missing: such a skip becomes a failure.

`pytest.importorskip` skips with "could not import ..."; in CI every optional package a test needs is in
the `test` extra, so that skip can only mean the extra lost it, and the checks behind it silently stopped
running (as PyTorch's cross-checks once did). Elsewhere the skip stays a skip. Hooks for tests/conftest.py.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

MISSING_PACKAGE = "could not import"  # the start of pytest.importorskip's reason


def missing_packages(*names: str) -> list[str]:
    """The packages among `names` that are not installed, found without importing them."""
    return [name for name in names if importlib.util.find_spec(name) is None]


def _missing_reason(missing: list[str]) -> str:
    """importorskip's reason, so that with CI=true the skip fails as importorskip's does."""
    return f"{MISSING_PACKAGE} {' and '.join(missing)}"


def skip_unless_installed(*names: str) -> None:
    """pytest.importorskip without the import (which can cost seconds, or set variables in this process)."""
    missing = missing_packages(*names)
    if missing:
        pytest.skip(_missing_reason(missing))


def needs_installed(*names: str):
    """The same as a mark (a module's `pytestmark`): decided at collection, without importing the packages."""
    missing = missing_packages(*names)
    return pytest.mark.skipif(bool(missing), reason=_missing_reason(missing))


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _reason(report) -> str:
    longrepr = report.longrepr
    return longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)


def fail_missing_package(report) -> None:
    """Turn a skip for a missing package into a failure that says so (CI only)."""
    if not (in_ci() and report.skipped and MISSING_PACKAGE in _reason(report)):
        return
    report.outcome = "failed"
    report.longrepr = (
        f"CI=true: this test may not skip for a missing optional package ({_reason(report)}); "
        "add the package to the `test` extra in pyproject.toml"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    fail_missing_package(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    fail_missing_package(outcome.get_result())
