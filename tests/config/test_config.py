"""A config is validated as a whole; each error names the key path and its line (or its --set)."""

from __future__ import annotations

import textwrap

import pytest

from backprop_cli.config.load import config_to_yaml, load_config
from backprop_cli.errors import ConfigError

GOOD = """\
name: demo
seed: 3
data: {dataset: iris, validation_split: 0.2}
model:
  layers:
    - {type: dense, units: 16, activation: relu}
    - {type: dropout, rate: 0.1}
    - {type: dense, units: 3}
loss: cross_entropy
optimizer: {type: adam, lr: 1e-3}
training: {epochs: 5, batch_size: 16}
"""


def write(tmp_path, text: str):
    path = tmp_path / "cfg.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path, text: str, overrides=()) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), list(overrides))
    return str(info.value)


def test_a_good_config_loads_with_defaults_filled_in(tmp_path):
    config = load_config(write(tmp_path, GOOD)).config
    assert config.optimizer.lr == 0.001 and config.optimizer.beta2 == 0.999
    assert config.training.dtype == "float32" and config.output.checkpoint_every == 1
    assert config.model.layers[1].rate == 0.1


def test_the_resolved_config_reads_back_to_the_same_config(tmp_path):
    config = load_config(write(tmp_path, GOOD)).config
    again = tmp_path / "again.yaml"
    again.write_text(config_to_yaml(config))
    assert load_config(again).config == config


def test_the_name_defaults_to_the_file_stem(tmp_path):
    path = tmp_path / "my-experiment.yaml"
    path.write_text(GOOD.replace("name: demo\n", ""))
    assert load_config(path).config.name == "my-experiment"


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "optimizer: {type: adam",
            "optimiser: {type: adam",
            ["cfg.yaml:10", "unknown key 'optimiser'", "did you mean 'optimizer'"],
        ),
        (
            "type: dense, units: 16",
            "type: dens, units: 16",
            ["cfg.yaml:6", "model.layers.0", "did you mean 'dense'"],
        ),
        (
            "activation: relu",
            "activation: relu6x",
            ["cfg.yaml:6", "model.layers.0.activation", "did you mean 'relu'"],
        ),
        ("dataset: iris", "dataset: mnistt", ["cfg.yaml:3", "data.dataset", "did you mean 'mnist'"]),
        ("lr: 1e-3", "lr: fast", ["cfg.yaml:10", "optimizer.lr", "must be a number"]),
        ("epochs: 5", "epochs: true", ["cfg.yaml:11", "training.epochs", "whole number"]),
        ("epochs: 5", "epochs: many", ["cfg.yaml:11", "training.epochs", "whole number"]),
        ("lr: 1e-3", "lr: .nan", ["cfg.yaml:10", "optimizer.lr", "finite"]),
        ("units: 16", "units: -4", ["cfg.yaml:6", "model.layers.0.units", "must be > 0 (got -4)"]),
        ("rate: 0.1", "rate: 1.5", ["cfg.yaml:7", "model.layers.1.rate", "must be < 1"]),
        ("batch_size: 16", "batch_size: 0", ["cfg.yaml:11", "training.batch_size", "must be > 0"]),
        ("epochs: 5", "epochs: -1", ["cfg.yaml:11", "training.epochs", "must be > 0"]),
        (
            "validation_split: 0.2",
            "validation_split: 1.0",
            ["cfg.yaml:3", "data.validation_split", "must be < 1"],
        ),
        ("units: 16", "units: 1000000000", ["cfg.yaml:6", "model.layers.0.units", "must be <="]),
    ],
)
def test_each_mistake_names_its_key_path_line_and_fix(tmp_path, old, new, expected):
    message = error_of(tmp_path, GOOD.replace(old, new, 1))
    for part in expected:
        assert part in message


def test_a_missing_section_is_required(tmp_path):
    message = error_of(tmp_path, "data: {dataset: iris}\n")
    assert "model: is required" in message


def test_the_top_level_must_be_a_mapping(tmp_path):
    assert "top level must be a mapping" in error_of(tmp_path, "- 1\n- 2\n")


def test_an_empty_file_is_refused(tmp_path):
    assert "empty" in error_of(tmp_path, "")


def test_data_needs_exactly_one_source(tmp_path):
    message = error_of(tmp_path, GOOD.replace("dataset: iris", "dataset: iris, path: x.csv"))
    assert "exactly one" in message


def test_overrides_are_applied_and_validated_like_the_file(tmp_path):
    loaded = load_config(write(tmp_path, GOOD), ["optimizer.lr=0.01", "model.layers.0.units=64", "seed=9"])
    assert loaded.config.optimizer.lr == 0.01 and loaded.config.model.layers[0].units == 64
    assert loaded.config.seed == 9


@pytest.mark.parametrize(
    "override, expected",
    [
        ("optimizer.lrr=1", ["--set optimizer.lrr=1", "unknown key 'lrr'", "did you mean 'lr'"]),
        ("model.layers.9.units=3", ["--set model.layers.9.units=3", "has 3 entries"]),
        ("optimizer.lr=.inf", ["--set optimizer.lr=.inf", "finite"]),
        ("training.epochs", ["expected KEY=VALUE"]),
        ("model.layers.0.type=dens", ["--set model.layers.0.type=dens", "did you mean 'dense'"]),
        ("seed=yes", ["--set seed=yes", "ambiguous"]),
    ],
)
def test_a_bad_override_names_the_set_that_wrote_it(tmp_path, override, expected):
    message = error_of(tmp_path, GOOD, [override])
    for part in expected:
        assert part in message


def test_several_problems_are_reported_together_in_file_order(tmp_path):
    bad = GOOD.replace("units: 16", "units: -4").replace("epochs: 5", "epochs: 0")
    message = error_of(tmp_path, bad)
    assert "2 problems" in message
    assert message.index("model.layers.0.units") < message.index("training.epochs")
