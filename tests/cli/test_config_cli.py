"""`backprop config show|validate|schema`."""

from __future__ import annotations

import json

from backprop_cli.config import load_config
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
