"""What the docs tests share."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def home(tmp_path_factory) -> Path:
    """The HOME of the pages a worker runs (the docs' own and the harness tests' small ones): an empty
    folder, not the developer's; one for all of them, so that their commands fork from one warm process."""
    return tmp_path_factory.mktemp("home")
