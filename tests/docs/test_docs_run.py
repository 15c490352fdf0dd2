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


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_block_of_the_page_runs_as_written(page: Path, tmp_path: Path):
    runnable = [b for b in blocks(page) if b.skip is None]
    if not runnable:
        pytest.skip(f"{page.name} has no runnable block")
    outcomes = run_page(page, tmp_path)
    found = [line for outcome in outcomes for line in problems(outcome)]
    assert len(outcomes) == len(runnable) or found, "the page stopped early"
    assert not found, "\n".join(found) + "\n\n" + "\n".join(o.output[-1500:] for o in outcomes if problems(o))


@pytest.mark.parametrize("page", LINKED, ids=lambda p: p.name)
def test_every_link_and_picture_resolves(page: Path):
    missing = [written for written, target in links(page) if not target.exists()]
    assert not missing, f"{page.name} links to missing files: {missing}"
