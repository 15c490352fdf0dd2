"""`backprop data list | download`, run in-process through Typer's test runner.

The module is loaded from its file, so these tests hold whatever the rest of backprop_cli.cli is
doing; the wiring into `backprop` (cli/__init__.py) is tested with the other verbs.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backprop_cli.config.schema import DATASET_NAMES
from tests.datafiles import require_full_mnist

from .helpers import SLICE_DIR, SLICE_MNIST

CLI_DATA = Path(__file__).resolve().parents[2] / "backprop_cli" / "cli" / "data.py"


def load_cli_module():
    spec = importlib.util.spec_from_file_location("backprop_cli_cli_data_under_test", CLI_DATA)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def app():
    return load_cli_module().app


def test_importing_the_command_module_imports_neither_numpy_nor_rich():
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('m', {str(CLI_DATA)!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print('numpy' in sys.modules, 'rich' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_list_json_describes_every_builtin_dataset_and_whether_it_is_here(app, tmp_path):
    (tmp_path / "mnist").mkdir()
    shutil.copy(SLICE_MNIST / "t10k-labels-idx1-ubyte.gz", tmp_path / "mnist")
    result = CliRunner().invoke(app, ["list", "--json", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == set(DATASET_NAMES)
    assert rows["mnist"]["present"] is False and rows["mnist"]["files_present"] == 1
    assert rows["mnist"]["size_bytes"] == 129
    assert rows["iris"]["kind"] == "bundled" and rows["iris"]["size_bytes"] > 0
    assert rows["sine"]["task"] == "regression" and rows["sine"]["n_classes"] is None


def test_list_shows_a_table_with_mnist_present_in_a_data_dir_holding_it(app):
    result = CliRunner().invoke(app, ["list", "--data-dir", str(SLICE_DIR)])
    assert result.exit_code == 0
    mnist_line = next(line for line in result.stdout.splitlines() if line.strip().startswith("mnist"))
    assert "yes" in mnist_line and "110 KB" in mnist_line
    assert all(name in result.stdout for name in DATASET_NAMES)


def test_download_of_a_present_dataset_verifies_and_prints_its_directory(app):
    full = require_full_mnist()
    result = CliRunner().invoke(app, ["download", "mnist", "--data-dir", str(full)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(str(full / "mnist"))
    assert "every file is present and verified" in result.stderr


def test_download_of_a_misspelled_name_raises_the_projects_error_for_the_cli_boundary(app):
    from backprop_cli.errors import DataError

    result = CliRunner().invoke(app, ["download", "mnsit"])
    assert isinstance(result.exception, DataError) and "did you mean 'mnist'" in str(result.exception)


def test_download_fetches_from_the_mirror_with_progress_on_stderr_and_the_path_on_stdout(app, mirror, tmp_path):
    full = require_full_mnist() / "mnist"  # the command checks the canonical checksums
    result = CliRunner().invoke(
        app, ["download", "mnist", "--data-dir", str(tmp_path)], env={"BACKPROP_DATA_MIRROR": mirror + "/full/"}
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "mnist")
    assert "train-images-idx3-ubyte.gz" in result.stderr and "fetched and verified" in result.stderr
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(p.name for p in full.iterdir())


def test_a_failed_download_raises_a_run_error_for_exit_code_1(app, mirror, tmp_path):
    from backprop_cli.errors import RunError

    result = CliRunner().invoke(
        app, ["download", "mnist", "--data-dir", str(tmp_path)], env={"BACKPROP_DATA_MIRROR": mirror + "/404/"}
    )
    assert isinstance(result.exception, RunError) and result.exception.exit_code == 1
