"""`backprop config show|validate|schema`."""

from __future__ import annotations

import json

from backprop_cli.config.load import load_config
from tests.cli.conftest import CONFIGS, backprop, err, out


def test_show_prints_the_resolved_config_with_overrides(tmp_path):
    result = backprop("config", "show", str(CONFIGS / "quickstart.yaml"), "--set", "optimizer.lr=0.1")
    assert result.returncode == 0 and "lr: 0.1" in out(result) and "beta2: 0.999" in out(result)


def test_every_example_config_is_valid():
    for path in sorted(CONFIGS.glob("*.yaml")):
        load_config(path)  # raises ConfigError naming the file and line


def test_validate_exits_0_for_a_good_config():
    result = backprop("config", "validate", str(CONFIGS / "quickstart.yaml"))
    assert result.returncode == 0 and "valid" in err(result)


def test_validate_exits_2_with_the_file_line_and_key_path(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("data: {dataset: iris}\nmodel:\n  layers:\n    - {type: dense, units: -4}\n")
    result = backprop("config", "validate", str(path))
    assert result.returncode == 2
    assert f"{path}:4: model.layers.0.units: must be > 0 (got -4)" in err(result)
    assert "Traceback" not in err(result) and out(result) == ""


def test_schema_is_json_schema_with_every_section():
    schema = json.loads(out(backprop("config", "schema")))
    assert {"data", "model", "optimizer", "training", "loss"} <= set(schema["properties"])


HUGE = """\
data: {dataset: mnist}
model:
  layers:
    - {type: dense, units: 1000000}
    - {type: dense, units: 1000000}
    - {type: dense, units: 10}
"""


def test_validate_counts_the_parameters_of_a_model_on_a_builtin_dataset():
    result = backprop("config", "validate", str(CONFIGS / "mnist-cnn.yaml"))
    assert result.returncode == 0 and "valid (7 layers, 454,922 parameters," in err(result)


def test_validate_refuses_a_model_too_large_for_memory_at_its_line(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text(HUGE)
    result = backprop("config", "validate", str(path))
    assert result.returncode == 2, err(result)
    assert f"{path}:3: model.layers: the model has 1,000,796,000,010 parameters" in err(result)


def test_validate_refuses_layer_shapes_that_do_not_fit_the_builtin_data(tmp_path):
    path = tmp_path / "pool.yaml"
    path.write_text(
        "data: {dataset: iris}\nmodel:\n  layers:\n    - {type: maxpool2d}\n    - {type: dense, units: 3}\n"
    )
    result = backprop("config", "validate", str(path))
    assert result.returncode == 2 and f"{path}:4: model.layers.0" in err(result), err(result)


def test_train_refuses_a_huge_model_before_looking_for_its_data(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text(HUGE)
    env_dir = tmp_path / "empty-data-dir"  # no MNIST here, and no network: a download would fail differently
    env_dir.mkdir()
    result = backprop("train", str(path), "--runs-dir", str(tmp_path / "runs"), env={"BACKPROP_DATA_DIR": str(env_dir)})
    assert result.returncode == 2, err(result)
    assert f"{path}:3: model.layers: the model has" in err(result) and "download" not in err(result)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
