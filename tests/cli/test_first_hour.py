"""Small truths of a newcomer's first hour: each message offers the way the user most likely meant."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.reliability.helpers import in_process


def test_integer_targets_taken_for_classes_offer_regression_too(tmp_path):
    rows = "\n".join(f"{i * 0.1:.1f},{i % 7 + (i // 7) * 2}" for i in range(60))  # counts: 2..(integers)
    (tmp_path / "counts.csv").write_text("x,count\n" + rows + "\n")
    (tmp_path / "counts.yaml").write_text(
        "data: {path: counts.csv, target: count, validation_split: 0}\n"
        "model: {layers: [{type: dense, units: 4, activation: relu}, {type: dense, units: 1}]}\n"
        "loss: mse\noptimizer: {type: adam, lr: 0.01}\ntraining: {epochs: 1}\n"
    )
    refused = in_process("train", "counts.yaml", "--runs-dir", "runs", cwd=tmp_path)
    assert refused.returncode == 2 and "set data.task: regression" in refused.stderr, refused.stderr
    trained = in_process("train", "counts.yaml", "--set", "data.task=regression", "--quiet", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr


CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_show_leaves_out_what_does_not_apply_and_loads_to_the_same_config(path, tmp_path):
    from backprop_cli.config.load import load_config
    from backprop_cli.config.view import shown_config

    result = in_process("config", "show", path, cwd=path.parent.parent)
    assert result.returncode == 0, result.stderr
    shown = yaml.safe_load(result.stdout)
    layers = list(_walk(shown["model"]["layers"]))
    assert not [k for k, v in shown["data"].items() if v is None], shown["data"]
    assert not [(k, layer["type"]) for layer in layers for k, v in layer.items() if v is None]
    assert not [layer for layer in layers if layer.get("per_step") is False]
    if shown["loss"] in ("cross_entropy", "binary_cross_entropy"):
        assert "scale_target" not in shown["data"]
    (tmp_path / path.name).write_text(result.stdout)
    for extra in path.parent.glob("*.npz"):  # a config may name a data file beside it
        (tmp_path / extra.name).symlink_to(extra)
    again = load_config(tmp_path / path.name).config
    original = load_config(path).config
    # the same run: equal once the view's resolved defaults (a layer's init) are written into both
    assert {**shown_config(again), "name": None} == {**shown_config(original), "name": None}


def _walk(layers):
    for layer in layers:
        yield layer
        yield from _walk(layer.get("layers") or [])


def test_trace_prints_no_negative_zero():
    from backprop_cli.cli.trace import show

    assert show({"values": [[-0.0, 0.5], [0.0, -0.0]]}, 6) == "[[0, 0.5],\n [0, 0]]"
    assert "-0," not in show({"shape": [3], "first": [-0.0, 1.0], "norm": 1.0, "min": -0.0, "max": 1.0}, 6)
