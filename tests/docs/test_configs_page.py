"""docs/configs.md lists every example config exactly once, and nothing that is not there."""

from __future__ import annotations

import re

from tests.docs.harness import ROOT


def test_every_config_has_one_row_on_the_configs_page():
    page = (ROOT / "docs" / "configs.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([\w.-]+\.yaml)` \|", page, re.M)
    shipped = sorted(p.name for p in (ROOT / "configs").glob("*.yaml"))
    assert sorted(rows) == shipped, (sorted(set(shipped) - set(rows)), sorted(set(rows) - set(shipped)))
