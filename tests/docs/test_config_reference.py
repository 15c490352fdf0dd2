"""docs/config-reference.md is generated from the config models: stale, it fails here with the command that
regenerates it."""

from __future__ import annotations

from backprop_cli.config.reference import reference
from tests.docs.harness import ROOT

PAGE = ROOT / "docs" / "config-reference.md"


def test_the_config_reference_page_is_the_generated_one():
    assert PAGE.read_text(encoding="utf-8") == reference(), (
        "docs/config-reference.md is stale: run `python -m backprop_cli.config.reference > docs/config-reference.md`"
    )


def test_the_reference_names_every_section_and_every_layer_type():
    from backprop_cli.nn.registry import LAYERS

    text = reference()
    for section in ("data", "loss", "optimizer", "schedule", "regularization", "training", "diagnostics", "output"):
        assert f"## `{section}:`" in text
    for name in LAYERS:
        assert f"`{name}`" in text.split("## `model.layers:`")[1], name
