"""`backprop check` on the shipped configs that check in a few seconds: each passes, except the teaching
configs broken on purpose, which fail exactly the check that shows their lesson. The MNIST, recurrent and
transformer configs take tens of CPU seconds each: `python -m bench.checkup` checks every shipped config."""

from __future__ import annotations

import pytest

from backprop_cli.checkup.run import run_checkup
from backprop_cli.config.load import load_config
from tests.cli.conftest import CONFIGS

BROKEN_ON_PURPOSE = {
    "zeros-init": {"overfit one batch", "zeroed inputs"},  # identical units: the net cannot fit, inputs or not
    "deep-sigmoid": {"overfit one batch"},  # vanishing gradients: 16 rows are not memorised in 200 steps
}
QUICK = ("xor", "spirals", "iris", "sine-regression", "quickstart", "digits", "optimizers", "worked-example",
         "zeros-init", "zeros-init-fixed", "deep-sigmoid", "deep-relu-he", "divergence")  # fmt: skip


@pytest.mark.parametrize("name", QUICK)
def test_a_shipped_config_passes_the_check_up(name):
    findings = run_checkup(load_config(CONFIGS / f"{name}.yaml").config)
    failed = {f.check for f in findings if f.verdict == "fail"}
    assert failed == BROKEN_ON_PURPOSE.get(name, set()), [f for f in findings if f.verdict == "fail"]


def test_the_quick_list_names_shipped_configs():
    assert set(QUICK) <= {path.stem for path in CONFIGS.glob("*.yaml")}
