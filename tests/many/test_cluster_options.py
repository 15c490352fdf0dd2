"""--scheduler and --scheduler-file are parsed by us, and the connection is bounded by our deadline:
a bad address, a bad file or a scheduler that never answers is exit 2 naming it, before anything is made."""

from __future__ import annotations

import os
import re
import socket

import pytest
from reliability.helpers import assert_user_error, backprop, in_process

from backprop_cli.errors import UserError
from backprop_cli.many.cluster import parse_address


@pytest.mark.parametrize(
    "given, address",
    [
        ("tcp://127.0.0.1:8786", "tcp://127.0.0.1:8786"),
        ("  10.0.0.5:8786 ", "tcp://10.0.0.5:8786"),
        ("tls://sched.example.org:8786", "tls://sched.example.org:8786"),
        ("tcp://[::1]:8786", "tcp://[::1]:8786"),
    ],
)
def test_a_scheduler_address_is_tcp_host_port(given, address):
    assert parse_address(given) == address


@pytest.mark.parametrize(
    "given, message",
    [
        ("", "is empty (an unset shell variable?)"),
        ("   ", "is empty"),
        ("tcp://127.0.0.1", "is not a scheduler address"),
        ("http://127.0.0.1:8786", "is not a scheduler address"),
        ("tcp://127.0.0.1:99999", "is not a scheduler address"),
        ("tcp://127.0.0.1:port", "is not a scheduler address"),
        ("tcp://:8786", "is not a scheduler address"),
        ("tcp://127.0.0.1:8786/x", "is not a scheduler address"),
        ("127.0.0.1:0", "is not a scheduler address"),
    ],
)
def test_anything_else_is_refused_naming_the_option(given, message):
    with pytest.raises(UserError, match=re.escape(message)) as caught:
        parse_address(given)
    assert caught.value.where == "--scheduler" and "tcp://10.0.0.5:8786" in caught.value.fix


@pytest.fixture
def sweep_file(files, tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text(f"base: {files / 'iris.yaml'}\nparameters: {{optimizer.lr: [0.01]}}\n")
    return path


@pytest.mark.parametrize(
    "content, message",
    [
        (b'{"type": "Scheduler", "id": "x"}', "is not a scheduler file (it has no `address`)"),
        (os.urandom(64) + b"\xff", "is not a scheduler file (not JSON)"),
        (b'{"address": ""}', "sched.json: address: is empty"),
        (b'{"address": "tcp://nowhere"}', "sched.json: address: 'tcp://nowhere' is not a scheduler address"),
        (b"[1, 2]", "it has no `address`"),
    ],
)
def test_a_scheduler_file_without_a_usable_address_is_named(sweep_file, tmp_path, content, message):
    (tmp_path / "sched.json").write_bytes(content)
    result = in_process("sweep", sweep_file, "--scheduler-file", tmp_path / "sched.json", "--runs-dir", tmp_path / "r")
    assert_user_error(result, 2, message)
    assert not (tmp_path / "r").exists()


def test_an_empty_scheduler_option_is_refused_not_run_locally(sweep_file, tmp_path):
    result = in_process("sweep", sweep_file, "--scheduler", "", "--runs-dir", tmp_path / "r")
    assert_user_error(result, 2, "--scheduler: is empty (an unset shell variable?)")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("seconds", ["0", "-1", "nan", "inf", "1e9"])
def test_the_connection_deadline_is_a_finite_number_of_seconds(sweep_file, seconds):
    result = in_process("sweep", sweep_file, "--scheduler", "tcp://127.0.0.1:1", "--connect-timeout", seconds)
    # parsed like every float option: one message naming the option and the range
    expected = f"--connect-timeout: {seconds} is out of range; give a finite number from 0.001 to 3600"
    assert_user_error(result, 2, expected)


def test_a_scheduler_that_accepts_and_never_answers_is_given_up_at_our_deadline(files, sweep_file, tmp_path):
    with socket.socket() as silent:  # a real listening socket that accepts connections and says nothing
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        expected = f"--scheduler: no answer from the Dask scheduler at {address} within 1 s"
        result = backprop("sweep", sweep_file, "--scheduler", address, "--connect-timeout", "1",
                          "--runs-dir", tmp_path / "r", timeout=60)  # fmt: skip
        assert_user_error(result, 2, expected)
        cv = in_process(
            "cv", files / "iris.yaml", "--scheduler", address, "--connect-timeout", "1", "--runs-dir", tmp_path / "r"
        )
        assert_user_error(cv, 2, expected)
    assert not (tmp_path / "r").exists()
