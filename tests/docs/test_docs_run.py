"""Every shell block of the docs pages runs as written and does what the text says; every link resolves.

The pages are tutorials a person follows top to bottom, so each page runs top to bottom in one shell in an
empty folder (tests/docs/harness.py says how blocks are steered: skip, expected exit, expected text).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.harness import ROOT, blocks, links, problems, run_page

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINKED = PAGES
RUNNABLE = [page for page in PAGES if any(block.skip is None for block in blocks(page))]


def test_the_pages_with_commands_are_run():
    assert {"README.md", "first-network.md", "pictures.md", "many-runs.md"} <= {p.name for p in RUNNABLE}
    assert len(RUNNABLE) >= len(PAGES) - 4  # the reference and notes pages show no commands


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: p.name)
def test_every_block_of_the_page_runs_as_written(page: Path, tmp_path: Path, home: Path):
    runnable = [b for b in blocks(page) if b.skip is None]
    outcomes = run_page(page, tmp_path, home=home)
    found = [line for outcome in outcomes for line in problems(outcome)]
    assert len(outcomes) == len(runnable) or found, "the page stopped early"
    assert not found, "\n".join(found) + "\n\n" + "\n".join(o.output[-1500:] for o in outcomes if problems(o))


@pytest.mark.parametrize("page", LINKED, ids=lambda p: p.name)
def test_every_link_and_picture_resolves(page: Path):
    missing = [written for written, target in links(page) if not target.exists()]
    assert not missing, f"{page.name} links to missing files: {missing}"
