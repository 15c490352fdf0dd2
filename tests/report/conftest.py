"""A real headless Chromium driven by Playwright, for the report pages.

Chromium comes from the distribution's packages (`apt-get install chromium`; .ci/run installs it) and the
`playwright` Python package from the test extra. Where either is missing the browser tests skip and say
how to enable them; with CI=true their absence is a failure.
"""

from __future__ import annotations

import shutil

import pytest

from tests.ci_guard import in_ci

BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOW = "install Chromium (apt-get install chromium) and the test extra (pip install -e '.[test]')"


def _missing(what: str):
    if in_ci():
        pytest.fail(f"{what} is required when CI=true: {HOW}")
    pytest.skip(f"{what} is not installed: {HOW} to run the browser tests")


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        _missing("Chromium")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
        yield launched
        launched.close()
