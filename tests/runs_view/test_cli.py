"""`backprop runs list|show|compare` and `backprop plot`, driven in-process through Typer's test runner.

The project's errors propagate out of the commands (the CLI boundary in `backprop_cli.cli.main` turns
them into one message and exit 2), so here they arrive as `result.exception`.
"""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from backprop_cli.cli import plot as plot_cmd
from backprop_cli.cli import runs as runs_cmd
from backprop_cli.errors import RunDirError, UserError
from tests.runs_view.builders import config, write_run

app = typer.Typer(pretty_exceptions_enable=False)
app.add_typer(runs_cmd.app, name="runs")
app.command(name="plot")(plot_cmd.plot)


@app.callback()
def _root() -> None:
    """backprop, as far as these commands go."""


def invoke(*args) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_runs_list_json_is_one_array_newest_first(runs_dir):
    result = invoke("runs", "list", runs_dir, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == ["live", "torn", "mlp", "sigmoid"]
    assert [r["status"] for r in rows] == ["running", "running", "completed", "early_stopped"]


def test_runs_list_prints_a_table_one_row_per_run(runs_dir):
    result = invoke("runs", "list", runs_dir)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["run", "status", "epochs", "best", "test", "time", "started"]
    assert [line.split()[0] for line in lines[1:]] == [
        "live-20260104-090000-ab12", "torn-20260103-090000-ab12", "mlp-20260102-090000-ab12",
        "sigmoid-20260101-090000-ab12",
    ]  # fmt: skip
    mlp = lines[3].split()
    assert mlp[1:4] == ["completed", "5/5", "val_loss"] and "acc 0.9300" in lines[3] and "\x1b" not in result.stdout


def test_runs_list_of_an_empty_directory_says_so_and_succeeds(tmp_path):
    result = invoke("runs", "list", tmp_path)
    assert result.exit_code == 0
    assert result.stdout == "" and "no runs in" in result.stderr and "backprop train" in result.stderr


def test_runs_list_without_a_runs_directory_here_says_so_and_succeeds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("runs", "list", "--json")
    assert (result.exit_code, json.loads(result.stdout)) == (0, [])


def test_runs_list_of_a_file_is_a_run_dir_error(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    result = invoke("runs", "list", tmp_path / "notes.txt")
    assert isinstance(result.exception, RunDirError) and "not a directory" in str(result.exception)


def test_runs_list_of_one_run_says_it_is_a_run_and_how_to_see_it_or_its_folder(runs_dir):
    run = runs_dir / "mlp-20260102-090000-ab12"
    result = invoke("runs", "list", run)
    assert isinstance(result.exception, UserError) and str(result.exception) == (
        f"{run}: is one run, not a folder of runs; see it with `backprop runs show {run}`, "
        f"or list its folder: `backprop runs list {runs_dir}`"
    )


def test_a_run_directory_given_as_a_config_points_at_its_config_yaml(runs_dir):
    from backprop_cli.config.yamlsafe import read_yaml_file
    from backprop_cli.errors import ConfigError

    run = runs_dir / "mlp-20260102-090000-ab12"
    with pytest.raises(ConfigError, match=f"is a directory, not a config file; a run's config is {run}/config.yaml"):
        read_yaml_file(run)


def test_runs_show_json_is_one_object_with_config_outcome_and_sparklines(runs_dir):
    result = invoke("runs", "show", runs_dir / "mlp-20260102-090000-ab12", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["name"], data["status"], data["test"]) == ("mlp", "completed", {"loss": 0.21, "accuracy": 0.93})
    assert data["config"]["layers"][2] == "residual[dense 64 relu]"
    assert len(data["sparklines"]["train_loss"]) == 5


def test_runs_show_prints_the_config_metrics_sparkline_and_warnings(runs_dir):
    result = invoke("runs", "show", runs_dir / "sigmoid-20260101-090000-ab12")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for expected in (
        "early_stopped (patience ran out)",
        "epoch 4/5",
        "residual[dense 64 relu]",
        "adam lr=0.01",
        "batch size 32",
        "best epoch 4: val_loss",
        "vanishing gradients in layer 0",
    ):
        assert expected in out, expected  # fmt: skip
    lines = out.splitlines()
    spark = lines[lines.index("loss per epoch (one scale)") + 1 :][:2]
    assert [line.split()[:2] for line in spark] == [["train", "▇▄▂▁"], ["val", "█▅▃▁"]]


def test_runs_show_of_something_that_is_not_a_run_is_a_run_dir_error_with_a_fix(tmp_path):
    result = invoke("runs", "show", tmp_path)
    assert isinstance(result.exception, RunDirError)
    assert result.exception.fix and "backprop runs list" in result.exception.fix


def test_runs_compare_lists_only_the_differing_keys_and_the_metrics(tmp_path):
    a = write_run(tmp_path, "a", cfg=config(name="a"))
    b = write_run(tmp_path, "b", cfg=config(name="b", **{"optimizer.lr": 0.01, "training.batch_size": 64}))
    result = invoke("runs", "compare", a, b)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "optimizer.lr" in out and "training.batch_size" in out and "other key(s) identical" in out
    assert "optimizer.beta1" not in out and "model.layers" not in out
    assert "final.val_loss" in out and "best_epoch" in out
    data = json.loads(invoke("runs", "compare", a, b, "--json").stdout)
    assert set(data["differences"]) == {"name", "optimizer.lr", "training.batch_size"}


def test_runs_compare_needs_two_runs(tmp_path):
    result = invoke("runs", "compare", write_run(tmp_path))
    assert isinstance(result.exception, UserError) and "two or more" in str(result.exception)


def test_plot_prints_the_path_of_the_png_it_wrote(tmp_path):
    a = write_run(tmp_path, "a", cfg=config(name="a"))
    b = write_run(tmp_path, "b", cfg=config(name="b"), scale=0.5)
    result = invoke("plot", a, b, "-o", tmp_path / "curves.png")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{tmp_path / 'curves.png'}\n"
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_of_one_metric_goes_next_to_the_run_by_default(tmp_path):
    run = write_run(tmp_path)
    result = invoke("plot", run, "--metric", "val_loss")
    assert result.stdout.strip() == str(run / "plot-val_loss.png") and (run / "plot-val_loss.png").is_file()


@pytest.mark.parametrize("args", [["--metric", "nope"], ["-o", "out.gif"]])
def test_plot_refuses_what_it_cannot_draw_or_write(tmp_path, args):
    result = invoke("plot", write_run(tmp_path), *args)
    assert isinstance(result.exception, UserError)


def test_plot_notes_on_stderr_a_run_that_has_no_gradient_flow_to_draw(tmp_path):
    from backprop_cli.runs.metrics_log import append_metrics
    from tests.runs_view.builders import epoch_record

    bare = write_run(tmp_path, "bare", status=None, epochs=0)
    append_metrics(bare / "metrics.jsonl", {k: v for k, v in epoch_record(1).items() if k != "layers"})
    result = invoke("plot", write_run(tmp_path, "full"), bare, "-o", tmp_path / "p.png")
    assert result.exit_code == 0, result.output
    assert "no per-layer gradient norms in bare-20260101-120000-ab12" in result.stderr
    assert result.stdout == f"{tmp_path / 'p.png'}\n"
