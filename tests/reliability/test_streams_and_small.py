"""Closed stdout or stderr (`>&-`, `2>&-`), text reaching rich, and the "Smaller" list: a
150,000-column CSV (quadratic), a CSV symlinked into a content-addressed store, `plot -o` onto a symlink
or a directory, a data dir that is a file, run names with a newline or 300 characters, SIGTERM before
training starts. Properties: escaped text renders as written; one name rule for --run-name and `name`.
"""

from __future__ import annotations

import io
import re
import signal
import subprocess
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from backprop_cli.cli.output import plain
from backprop_cli.config.names import RUN_NAME_PATTERN
from backprop_cli.config.schema import Config
from backprop_cli.config.validation import validate
from backprop_cli.data.loading import load_data
from backprop_cli.errors import ConfigError, RunDirError
from backprop_cli.runs.rundir import create_run_dir

from .helpers import BACKPROP, TRAIN_FLAGS, assert_user_error, environment, in_process, runs_in, start, wait_for_line


# ---- closed stdout / stderr: the run is saved, the exit code is the usual one ----------------------
@pytest.mark.parametrize("redirect", [">&-", "2>&-", ">&- 2>&-"])
def test_a_closed_stdout_or_stderr_still_trains_and_saves_the_run(configs, tmp_path, redirect):
    command = [*BACKPROP, "train", str(configs["fast"]), "--runs-dir", str(tmp_path), "--threads", "1"]
    result = subprocess.run(
        ["sh", "-c", f'exec "$@" {redirect}', "sh", *command],
        env=environment(),
        capture_output=">&-" not in redirect,  # capture what stays open
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    (run,) = runs_in(tmp_path)
    assert '"status": "completed"' in (run / "summary.json").read_text()
    assert "Traceback" not in (result.stderr or "")


# ---- SIGTERM before training starts: no empty run left behind (as SIGINT) ---------------------------
def test_sigterm_while_the_run_is_set_up_leaves_no_run_directory(configs, tmp_path):
    env = environment(BACKPROP_TEST_PAUSE_AT="before_rename", BACKPROP_TEST_KILL_MATCH="config.yaml")
    proc = start("train", configs["fast"], "--runs-dir", tmp_path, *TRAIN_FLAGS, env=env)
    wait_for_line(proc.stderr, "paused at before_rename")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == -signal.SIGTERM  # died by SIGTERM, as the shell expects (143)
    assert runs_in(tmp_path) == [] and list(tmp_path.iterdir()) == []


# ---- text reaching rich is escaped ------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from("[]/ab \\=#:@"), max_size=12)
    | st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=12)  # rich drops controls
)
def test_escaped_text_renders_exactly_as_written(text):
    console = Console(file=io.StringIO(), width=200, highlight=False, color_system=None, emoji=False)
    console.print(f"[bold]{plain(text)}[/] [dim]{plain(text)}[/]", end="", soft_wrap=True)  # never a MarkupError
    shown = console.file.getvalue()
    if "\\" in text:  # left alone: rich may show a backslash before '[' or at a tag's edge once more or less
        assert shown.replace("\\", "") == f"{text} {text}".replace("\\", "")
    else:
        assert shown == f"{text} {text}"  # every bracket as written: no tag was read from the text


@pytest.mark.parametrize("text", ["ok[/]", "[bold]x[/] y[/]", "a[red]b", "[", "[/red]", "[link=x]y"])
def test_markup_like_text_renders_as_written(text):
    test_escaped_text_renders_exactly_as_written.hypothesis.inner_test(text)


@pytest.mark.parametrize("text", ["\\", "\\\\", "\\\\\\", "a\\\\\\", "ok[/]\\\\\\", "[b]\\\\\\\\\\"])
def test_a_trailing_run_of_backslashes_shows_as_written_and_the_tag_after_it_stays_a_tag(text):
    """An odd run of three or more at the end escaped the closing tag that followed: `[/]` was shown."""
    console = Console(file=io.StringIO(), width=200, highlight=False, color_system=None, emoji=False)
    console.print(f"[bold]{plain(text)}[/] [dim]{plain(text)}[/]", end="", soft_wrap=True)
    assert console.file.getvalue() == f"{text} {text}"


# ---- run names: one rule ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["a\nb", "a" * 300, "a/b", ".hidden", "tab\tname", "ok\n"])
def test_a_run_name_the_config_would_refuse_is_refused_by_run_name_too(configs, tmp_path, name):
    result = in_process("train", configs["fast"], "--run-name", name, "--runs-dir", tmp_path, "--quiet")
    assert_user_error(result, 2, "invalid run name", "1 to 64 letters")
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=200, deadline=None)
@given(name=st.text(max_size=70) | st.from_regex(RUN_NAME_PATTERN, fullmatch=True))
def test_run_name_and_config_name_follow_the_same_rule(tmp_path_factory, name):
    base = {"data": {"dataset": "iris"}, "model": {"layers": [{"type": "dense", "units": 3}]}}
    try:
        validate(Config, {**base, "name": name}, where=lambda path: "c.yaml")
        config_ok = True
    except ConfigError:
        config_ok = False
    try:
        create_run_dir(tmp_path_factory.mktemp("names"), name)
        dir_ok = True
    except RunDirError:
        dir_ok = False
    assert config_ok == dir_ok == bool(re.fullmatch(RUN_NAME_PATTERN, name))


# ---- the "Smaller" list -----------------------------------------------------------------------------
def test_a_csv_of_30000_columns_loads_in_linear_time(tmp_path):
    columns = 30_000  # a list.index per column took ~15 s here (150,000: minutes)
    header = ",".join(f"c{j}" for j in range(columns)) + ",y\n"
    rows = "".join(",".join(["1"] * columns) + f",{i % 2}\n" for i in range(3))
    (tmp_path / "wide.csv").write_text(header + rows)
    from backprop_cli.config.schema import DataConfig

    started = time.process_time()  # CPU time: a busy host stretches wall time, not the work done
    data = load_data(DataConfig(path=str(tmp_path / "wide.csv"), target="y", validation_split=0.0), seed=0)
    assert data.x_train.shape == (3, columns)
    assert time.process_time() - started < 5.0


def test_a_csv_symlinked_into_a_content_addressed_store_is_read_by_its_name(tmp_path):
    store = tmp_path / ".dvc" / "cache" / "3f"
    store.mkdir(parents=True)
    blob = store / "a8c1e9d0b7"  # no suffix: the name in the user's tree carries it
    blob.write_text("a,b,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(12)))
    (tmp_path / "train.csv").symlink_to(blob)
    (tmp_path / "c.yaml").write_text(
        "data: {path: train.csv, target: label}\nmodel: {layers: [{type: dense, units: 2}]}\ntraining: {epochs: 1}\n"
    )
    result = in_process("train", tmp_path / "c.yaml", "--runs-dir", tmp_path / "runs", "--quiet")
    assert result.returncode == 0, result.stderr
    (run,) = runs_in(tmp_path / "runs")
    assert str(tmp_path / "train.csv") in (run / "config.yaml").read_text()  # the name, not the blob


def test_plot_onto_a_symlink_writes_its_target_and_onto_a_directory_is_a_usage_error(reference, tmp_path):
    (tmp_path / "link.png").symlink_to(tmp_path / "target.png")
    (tmp_path / "dir.png").mkdir()
    onto_link = in_process("plot", reference("fast"), "-o", tmp_path / "link.png")
    onto_dir = in_process("plot", reference("fast"), "-o", tmp_path / "dir.png")
    assert onto_link.returncode == 0, onto_link.stderr
    assert (tmp_path / "link.png").is_symlink() and (tmp_path / "target.png").stat().st_size > 0
    assert_user_error(onto_dir, 2, "dir.png: is a directory")


@pytest.mark.parametrize(
    "command, example",
    [(("plot",), "plot.png"), (("export",), "model.onnx"), (("export", "--format", "npz"), "model.npz"),
     (("runs", "export"), "metrics.csv")],  # fmt: skip
)
def test_every_output_file_onto_a_directory_or_into_a_missing_folder_is_a_usage_error(
    reference, tmp_path, command, example
):
    (tmp_path / "dir.png").mkdir()  # .png: plot checks the suffix first; the others take any name
    onto_dir = in_process(*command, reference("fast"), "-o", tmp_path / "dir.png")
    into_missing = in_process(*command, reference("fast"), "-o", tmp_path / "no" / "f.png")
    assert_user_error(onto_dir, 2, f"dir.png: is a directory; name the file, e.g. -o {tmp_path / 'dir.png' / example}")
    assert_user_error(into_missing, 2, f"f.png: no such directory: {tmp_path / 'no'}")
    assert list((tmp_path / "dir.png").iterdir()) == [] and not (tmp_path / "no").exists()


def test_a_data_dir_that_is_a_file_is_a_usage_error_naming_the_setting_it_came_from(tmp_path):
    (tmp_path / "file").write_text("x")
    from_env = in_process("data", "download", "mnist", env={"BACKPROP_DATA_DIR": str(tmp_path / "file")})
    from_option = in_process("data", "download", "mnist", "--data-dir", tmp_path / "file")
    assert_user_error(from_env, 2, "a part of that path is a file", "point $BACKPROP_DATA_DIR at a directory")
    assert_user_error(from_option, 2, "point --data-dir (or data.data_dir) at a directory")
