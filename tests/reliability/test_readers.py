"""Every reader of a user path: a config, a data file (CSV, NPZ), predict's input file and stdin
refuse what is not a regular file (a FIFO hung, /dev/zero was read until memory ran out) and bound what
they read; a 5000-digit integer and a NUL byte in a config are one clear message. Real processes under a
memory limit and a timeout: on failure a test fails, it never hangs the suite. Then properties of the gate.
"""

from __future__ import annotations

import io
import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.config.yamlsafe import parse_yaml
from backprop_cli.errors import ConfigError, DataError
from backprop_cli.userfiles import read_bounded

from .helpers import assert_user_error, backprop, environment, in_process, limit_memory, run_all

SPECIAL = ("fifo", "device", "directory")


@pytest.fixture(scope="module")
def special(tmp_path_factory):
    base = tmp_path_factory.mktemp("special")
    os.mkfifo(base / "fifo")
    (base / "directory.csv").mkdir()
    return {"fifo": base / "fifo", "device": "/dev/zero", "directory": base / "directory.csv"}


def _config_for_data(base, kind: str, path) -> str:
    link = base / f"{kind}-data.csv"  # the suffix decides the reader; the target is the special file
    if not link.is_symlink():
        link.symlink_to(path)
    return f"data: {{path: {link}, target: label}}\nmodel: {{layers: [{{type: dense, units: 2}}]}}\n"


def test_every_reader_refuses_a_fifo_a_device_and_a_directory_quickly_with_exit_2(special, reference, tmp_path):
    commands = {}
    for kind in SPECIAL:
        cfg = tmp_path / f"{kind}.yaml"
        cfg.write_text(_config_for_data(tmp_path, kind, special[kind]))
        commands[kind] = [
            ("config", "validate", special[kind]),
            ("train", cfg, "--runs-dir", tmp_path / "runs", "--quiet"),
            ("predict", reference("fast"), special[kind]),
        ]
    # what can hang or eat memory runs as real processes (a timeout, a memory limit); a directory in-process
    hostile = run_all(commands["fifo"] + commands["device"], timeout=30, preexec_fn=limit_memory())
    for result in hostile:
        assert_user_error(result, 2, "not a regular file")
    for command in commands["directory"]:
        assert_user_error(in_process(*command), 2, "a directory")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_stdin_is_bounded_dev_zero_is_refused_past_the_limit(reference):
    env = environment(BACKPROP_MAX_INPUT_BYTES="100000")
    with open("/dev/zero", "rb") as zero:
        result = backprop("predict", reference("fast"), "-", stdin=zero, env=env, timeout=30, preexec_fn=limit_memory())
    assert_user_error(result, 2, "<stdin>: holds more than 100,000 bytes", "BACKPROP_MAX_INPUT_BYTES")


def test_a_5000_digit_integer_in_a_config_or_a_set_is_one_clear_message(tmp_path, configs):
    digits = "9" * 5000
    (tmp_path / "big.yaml").write_text(f"training: {{epochs: {digits}}}\n")
    in_file = in_process("config", "validate", tmp_path / "big.yaml")
    in_set = in_process("config", "validate", configs["fast"], "--set", f"training.epochs={digits}")
    assert_user_error(in_file, 2, "big.yaml:1:20: an integer of 5,000 digits is too large")
    assert_user_error(in_set, 2, "an integer of 5,000 digits is too large")


def test_a_nul_byte_in_a_config_names_its_line_and_column_not_pyyamls_position(tmp_path):
    (tmp_path / "nul.yaml").write_bytes(b"seed: 1\nname: a\x00b\n")
    result = in_process("config", "validate", tmp_path / "nul.yaml")
    assert_user_error(result, 2, "nul.yaml:2:8: holds the control character U+0000")
    assert "position" not in result.stderr and "<unicode string>" not in result.stderr


# ---- properties -------------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(size=st.integers(0, 5000), limit=st.integers(1, 5000), chunks=st.integers(1, 3))
def test_a_bounded_read_returns_everything_up_to_the_limit_and_refuses_one_byte_more(size, limit, chunks):
    data = bytes(range(256)) * (size // 256 + 1)
    data = data[:size]
    try:
        assert read_bounded(io.BytesIO(data), "f", limit) == data
        assert size <= limit
    except DataError as err:
        assert size > limit and f"more than {limit:,} bytes" in str(err)


@settings(max_examples=100, deadline=None)
@given(digits=st.integers(4301, 6000), sign=st.sampled_from(["", "-", "+"]), where=st.sampled_from(["file", "set"]))
def test_any_integer_past_pythons_digit_limit_is_a_config_error(digits, sign, where):
    text = f"{sign}{'7' * digits}" if where == "set" else f"seed: {sign}{'7' * digits}\n"
    with pytest.raises(ConfigError, match="digits is too large"):
        parse_yaml(text, "c.yaml")


CONTROL = st.sampled_from([chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32), 127] if chr(c) != "\x1b"])


@settings(max_examples=150, deadline=None)
@given(char=CONTROL, at=st.integers(0, 30))
def test_a_control_character_anywhere_is_a_config_error_with_a_line_and_a_column(char, at):
    text = "name: abc\nseed: 1\ndata: {dataset: iris}\n"
    at = min(at, len(text) - 1)
    try:
        parse_yaml(text[:at] + char + text[at:], "c.yaml")
    except ConfigError as err:
        assert re.match(r"c\.yaml:\d+(:\d+)?", err.where or ""), err
        assert "position" not in str(err)
