"""A newcomer's first ten minutes: every message tells the truth and says how to go on."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.cli.conftest import backprop, err, out
from tests.reliability.conftest import SLOW  # digits, batch 4: a signal lands inside an epoch
from tests.reliability.helpers import in_process, wait_for_line


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---- Misleading ------------------------------------------------------------------------------------
def test_a_missing_data_file_names_the_base_a_relative_path_was_read_from(tmp_path):
    config = write(tmp_path / "cfg.yaml", "data: {path: train.csv}\nmodel:\n  layers: [{type: dense, units: 2}]\n")
    from_file = in_process("config", "validate", config, cwd=tmp_path.parent)
    assert from_file.returncode == 2
    assert f"data.path: file not found: {tmp_path / 'train.csv'}" in from_file.stderr
    assert f"`train.csv` was read relative to the config file's folder, {tmp_path}" in from_file.stderr
    assert "relative to the current directory" not in from_file.stderr
    from_set = in_process("train", config, "--set", "data.path=other.csv", cwd=tmp_path.parent)
    assert from_set.returncode == 2
    assert f"--set data.path=other.csv: data.path: file not found: {tmp_path.parent / 'other.csv'}" in from_set.stderr
    assert f"was read relative to the current directory, {tmp_path.parent}" in from_set.stderr


CSV_HEADER = "f1,f2,label\n"


def rows(n: int, offset: int = 0) -> str:
    return "".join(f"{(i * 7 + offset) % 10},{(i * 3 + offset) % 5},{'ab'[(i + offset) % 2]}\n" for i in range(n))


def test_eval_of_a_new_file_scores_every_row_of_it_and_says_so(tmp_path):
    write(tmp_path / "train.csv", CSV_HEADER + rows(50))
    write(tmp_path / "new.csv", CSV_HEADER + rows(60, offset=1))
    config = write(
        tmp_path / "c.yaml",
        "data: {path: train.csv, target: label, validation_split: 0.2}\n"
        "model:\n  layers: [{type: dense, units: 2}]\ntraining: {epochs: 1}\n",
    )
    run = in_process("train", config, "--runs-dir", tmp_path / "runs", "--quiet", cwd=tmp_path).stdout.strip()
    scored = json.loads(in_process("eval", run, "--data", "path=new.csv", "--json", cwd=tmp_path).stdout)
    assert scored["n"] == 60 and scored["split"] == "all" and scored["scored"] == "all rows of new.csv"
    table = backprop("eval", run, "--data", "path=new.csv", cwd=tmp_path)  # a pipe: the line is not wrapped
    assert out(table).splitlines()[0].endswith("all rows of new.csv, n=60")
    held_out = json.loads(
        in_process("eval", run, "--data", "path=new.csv", "--split", "val", "--json", cwd=tmp_path).stdout
    )
    assert held_out["split"] == "val" and held_out["n"] == 12  # asked for: the seed's validation rows of it


def test_eval_of_a_file_against_a_model_trained_on_a_builtin_dataset_needs_no_dataset_null(tmp_path):
    config = write(
        tmp_path / "sine.yaml",
        "data: {dataset: sine, n_samples: 100}\nmodel:\n  layers: [{type: dense, units: 1}]\nloss: mse\n"
        "training: {epochs: 1}\n",
    )
    run = in_process("train", config, "--runs-dir", tmp_path / "runs", "--quiet").stdout.strip()
    write(tmp_path / "points.csv", "x,y\n" + "".join(f"{i / 10},{i / 20}\n" for i in range(30)))
    result = in_process("eval", run, "--data", f"path={tmp_path / 'points.csv'}", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["n"] == 30


@pytest.mark.parametrize(
    "written, hint",
    [("activation: Relu", "did you mean 'relu'?"), ("type: Dense, units: 3", "did you mean 'dense'?")],
)
def test_did_you_mean_compares_names_without_case_but_names_stay_case_sensitive(tmp_path, written, hint):
    layer = written if "type" in written else f"type: dense, units: 3, {written}"
    config = write(tmp_path / "c.yaml", f"data: {{dataset: iris}}\nmodel:\n  layers: [{{{layer}}}]\n")
    result = in_process("config", "validate", config)
    assert result.returncode == 2 and hint in result.stderr, result.stderr


# ---- Friction: configs ---------------------------------------------------------------------------------
def test_a_quoted_number_suggests_removing_the_quotes(tmp_path):
    config = write(
        tmp_path / "c.yaml",
        'data: {dataset: iris}\nmodel:\n  layers: [{type: dense, units: 3}]\noptimizer: {type: adam, lr: "0.01"}\n',
    )
    result = in_process("config", "validate", config)
    assert result.returncode == 2
    assert "c.yaml:4: optimizer.lr: must be a number (got '0.01'); remove the quotes: `lr: 0.01`" in result.stderr


@pytest.mark.parametrize(
    "text, place, hint",
    [
        ("data:\n  dataset: iris\n model: 3\n", ":3:2:", "the indentation does not line up"),
        ("data:\n  dataset: iris\n    path: x\n", ":3:9:", "indented deeper than the key above it"),
        ("data: {dataset: iris}\nmodel:\n\tlayers: []\n", ":3:1:", "tabs are not allowed for indentation"),
        ("optimizer:\n  lr:0.1\n  type: sgd\n", ":3:7:", "line 2: a key needs a space after its colon"),
        ('name: "abc\ndata: {dataset: iris}\n', ":3:1:", "a quote opened on line 1 is never closed"),
        ("model:\n  layers: [{type: dense, units: 3}\n", ":3:1:", "the `[` opened on line 2 is not closed"),
    ],
    ids=["indentation", "too-deep", "tab", "glued-colon", "unclosed-quote", "unclosed-bracket"],
)
def test_yaml_syntax_errors_keep_line_and_column_and_say_what_they_usually_mean(tmp_path, text, place, hint):
    result = in_process("config", "validate", write(tmp_path / "c.yaml", text))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"c.yaml{place}" in result.stderr and hint in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_config_show_prints_resolved_values_without_keys_that_do_not_apply(tmp_path):
    result = in_process("config", "show", "configs/quickstart.yaml", cwd=Path(__file__).resolve().parents[2])
    shown = yaml.safe_load(result.stdout)
    first, last = shown["model"]["layers"][0], shown["model"]["layers"][-1]
    assert first["init"] == "he_normal" and last["init"] == "xavier_uniform"  # not `init: null`
    assert "init_scale" not in first and "activation" not in last and shown["loss"] == "cross_entropy"
    assert "path" not in shown["data"] and "n_samples" not in shown["data"]
    again = in_process("config", "validate", write(tmp_path / "shown.yaml", result.stdout))
    assert again.returncode == 0, again.stderr  # the view is itself a valid config


def test_the_json_schema_names_its_dialect():
    schema = json.loads(in_process("config", "schema").stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


# ---- Friction: the command line ---------------------------------------------------------------------------
def test_bare_backprop_prints_help_on_stdout_and_exits_0_like_pip():
    result = backprop()
    assert result.returncode == 0 and out(result).startswith("Usage: backprop") and err(result) == ""
    group = backprop("config")
    assert group.returncode == 0 and "validate" in out(group)


@pytest.mark.parametrize(
    "args, text",
    [
        (("train", "x.yaml", "--threads", "0"), "error: --threads: "),
        (("train", "--bogus"), "error: `backprop train` has no option --bogus; see `backprop train --help`"),
        (("trian",), "error: `backprop` has no command 'trian'; did you mean train or trace?"),
        (("eval",), "error: `backprop eval` needs CHECKPOINT_OR_RUN; see `backprop eval --help`"),
    ],
)
def test_usage_errors_are_one_line_in_the_projects_style_with_exit_2(args, text):
    result = in_process(*args)
    assert result.returncode == 2 and text in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "╭" not in result.stderr


def test_runs_list_of_a_folder_that_does_not_exist_is_exit_2_naming_it(tmp_path):
    result = in_process("runs", "list", tmp_path / "nope")
    assert result.returncode == 2 and str(tmp_path / "nope") in result.stderr


HELPS = [(), ("train",), ("eval",), ("predict",), ("gradcheck",), ("plot",), ("config",), ("config", "show"),
         ("config", "validate"), ("config", "schema"), ("runs",), ("runs", "list"), ("runs", "show"),
         ("runs", "compare"), ("data",), ("data", "list"), ("data", "download")]  # fmt: skip


@pytest.mark.parametrize("command", HELPS, ids=lambda c: " ".join(c) or "backprop")
def test_every_help_text_is_proofread(command):
    result = in_process(*command, "--help")
    assert result.returncode == 0
    for bad in ("<bool>", "<list", "<path>", "<str>", "╭", "[default: <"):
        assert bad not in result.stdout, f"{bad!r} in `backprop {' '.join(command)} --help`:\n{result.stdout}"
    assert not re.search(r" \.(\s|$)", result.stdout), f"a stray ' .' in:\n{result.stdout}"


# ---- Friction: numbers and tables ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, shown",
    [(6.9e26, "6.90e+26"), (0.1234567, "0.1235"), (2.5, "2.5000"), (1.5e-7, "1.50e-07"), (0.0, "0.0000")],
)
def test_numbers_print_short_scientific_beyond_a_range(value, shown):
    from backprop_cli.cli.output import short_number

    assert short_number(value) == shown


def test_an_exploding_loss_prints_in_a_few_characters_in_the_epoch_line():
    from backprop_cli.cli.progress import epoch_line

    line = epoch_line({"epoch": 2, "train_loss": 6.9e26, "val_loss": 0.25, "epoch_time_s": 0.5}, 10)
    assert line == "epoch=2/10 train_loss=6.90e+26 val_loss=0.2500 time=0.50s"


# ---- Friction: runs, Ctrl-C and resume -------------------------------------------------------------------
def test_a_finished_run_keeps_no_lock_file(tmp_path, tiny_config):
    run = Path(in_process("train", tiny_config, "--runs-dir", tmp_path, "--quiet").stdout.strip())
    assert (run / "summary.json").is_file() and not (run / ".lock").exists()


def test_ctrl_c_prints_the_exact_resume_command_and_resume_says_where_it_picks_up(tmp_path):
    config = write(tmp_path / "slow.yaml", SLOW)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "backprop_cli", "train", str(config), "--runs-dir", str(tmp_path / "runs")]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        wait_for_line(proc.stderr, "epoch=1/3", timeout=120)
        proc.send_signal(signal.SIGINT)
        stdout, rest = proc.communicate(timeout=60)
    finally:
        proc.kill()
    run = stdout.strip()
    assert proc.returncode == -signal.SIGINT, rest
    assert f"to continue from here: backprop train --resume {run}" in rest
    resumed = backprop("train", "--resume", run, timeout=300)
    assert resumed.returncode == 0, err(resumed)
    assert f"resuming {run} at epoch 2, batch" in err(resumed) or f"resuming {run} at the start of epoch" in err(
        resumed
    )
    assert "epochs done)" in err(resumed)


# ---- Friction: predict on a terminal -----------------------------------------------------------------------
def test_predict_with_stdin_on_a_terminal_says_it_reads_rows_and_how_to_end(tmp_path, tiny_config):
    run = in_process("train", tiny_config, "--runs-dir", tmp_path, "--quiet").stdout.strip()
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "backprop_cli", "predict", run],
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(secondary)
    try:
        ready, _, _ = select.select([proc.stderr], [], [], 60)  # without the notice, predict waits in silence
        assert ready, "predict said nothing on stderr while waiting for a terminal's input"
        notice = proc.stderr.readline()
        assert "reading feature rows from stdin" in notice and "Ctrl-D" in notice
        os.write(primary, b"0.5,0.5\n")
        time.sleep(0.2)
        os.write(primary, b"\x04")  # Ctrl-D: end of input on a terminal
        stdout, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
        os.close(primary)
    assert proc.returncode == 0 and len(stdout.split()) == 1
