"""A test leaves this process's environment as it found it.

Libraries set variables in the process that imports or runs them: Dask's nannies set the variables
their worker processes start with (PYTHONHASHSEED, MALLOC_TRIM_THRESHOLD_...), tensorboardX sets
CRC32C_SW_MODE. Left there, they would reach every later command a test starts, and each command's
environment chooses the warm process it is forked from (tests/warm_process.py): a new one, ~2 s each.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


def restore(before: dict[str, str]) -> None:
    """Make os.environ `before` again (only when something changed)."""
    if os.environ != before:
        os.environ.clear()
        os.environ.update(before)


@contextmanager
def environment_kept() -> Iterator[None]:
    before = dict(os.environ)
    try:
        yield
    finally:
        restore(before)
