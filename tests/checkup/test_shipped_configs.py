"""`backprop check` on every shipped config: each passes, except the teaching configs broken on purpose,
which fail exactly the check that shows their lesson."""

from __future__ import annotations

import pytest

from backprop_cli.checkup.run import run_checkup
from backprop_cli.config.load import load_config
from tests.cli.conftest import CONFIGS

BROKEN_ON_PURPOSE = {
    "zeros-init": {"overfit one batch", "zeroed inputs"},  # identical units: the net cannot fit, inputs or not
    "deep-sigmoid": {"overfit one batch"},  # vanishing gradients: 16 rows are not memorised in 200 steps
}


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_config_passes_the_check_up(path):
    findings = run_checkup(load_config(path).config)
    failed = {f.check for f in findings if f.verdict == "fail"}
    assert failed == BROKEN_ON_PURPOSE.get(path.stem, set()), [f for f in findings if f.verdict == "fail"]
