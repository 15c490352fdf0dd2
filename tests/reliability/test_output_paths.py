"""An output never replaces an input: `-o` naming one of a run's own files (by any spelling: `..`, a symlinked
directory) or the checkpoint a command reads is refused with exit 2 before any work, and the file is untouched."""

from __future__ import annotations

import shutil

import pytest

from .helpers import in_process, only_run, train

OWN_FILES = ["checkpoints/best.safetensors", "checkpoints/last.safetensors", "metrics.jsonl", "summary.json",
             "config.yaml"]  # fmt: skip
COMMANDS = {
    "export onnx": lambda run, out: ("export", run, "-o", out),
    "export npz": lambda run, out: ("export", run, "--format", "npz", "-o", out),
    "runs export": lambda run, out: ("runs", "export", run, "-o", out),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from .conftest import FAST

    tmp = tmp_path_factory.mktemp("outputs")
    (tmp / "fast.yaml").write_text(FAST.replace("epochs: 3", "epochs: 1"))
    result = train(tmp / "fast.yaml", tmp / "runs")
    assert result.returncode == 0, result.stderr
    return only_run(tmp / "runs")


def spellings(run, name):
    """The same file named three ways: plainly, through `..`, through a symlink to the run directory."""
    link = run.parent / f"link-to-{run.name}"
    if not link.exists():
        link.symlink_to(run, target_is_directory=True)
    return [run / name, run / "checkpoints" / ".." / name, link / name]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", OWN_FILES)
def test_an_output_naming_a_runs_own_file_is_refused_and_the_file_kept(run, command, name):
    before = (run / name).read_bytes()
    for target in spellings(run, name):
        result = in_process(*COMMANDS[command](run, target))
        assert result.returncode == 2, (target, result.stderr)
        assert f"error: {target}: is the run's own {name}: writing there would replace it" in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
        assert (run / name).read_bytes() == before


def test_the_output_is_checked_before_the_checkpoint_is_read(run, tmp_path):
    copy = tmp_path / run.name
    shutil.copytree(run, copy)
    (copy / "checkpoints" / "best.safetensors").write_bytes(b"not a checkpoint")  # reading it would fail first
    result = in_process("export", copy, "--format", "npz", "-o", copy / "summary.json")
    assert result.returncode == 2 and "is the run's own summary.json" in result.stderr, result.stderr


def test_export_never_writes_over_the_checkpoint_it_reads(run, tmp_path):
    source = tmp_path / "model.safetensors"
    shutil.copy(run / "checkpoints" / "best.safetensors", source)
    before = source.read_bytes()
    for target in (source, tmp_path / "." / "model.safetensors"):
        result = in_process("export", source, "--format", "npz", "-o", target)
        assert result.returncode == 2 and "is the file this command reads" in result.stderr, result.stderr
    assert source.read_bytes() == before


def test_outputs_beside_the_runs_files_are_still_written(run, tmp_path):
    assert in_process("export", run, "--format", "npz").returncode == 0  # RUN/model.npz, the default
    assert in_process("runs", "export", run).returncode == 0  # RUN/metrics.csv, the default
    assert in_process("export", run, "--format", "npz", "-o", tmp_path / "metrics.jsonl").returncode == 0  # not a run
