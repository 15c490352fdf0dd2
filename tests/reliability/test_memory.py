"""Memory is estimated for a whole step before anything is allocated: the activations of a batch (attention's
heads·L² weights among them) and the data a built-in generates. Beyond the machine's allowance: exit 2 with the
estimate and the key to turn, nothing created. A MemoryError that still happens (a ulimit, other programs) is
exit 1 in one line, the run marked failed."""

from __future__ import annotations

import json
import random

import pytest

from .helpers import BACKPROP, assert_user_error, environment, in_process, limit_memory, runs_in

ATTENTION = """\
data: {path: long.txt, format: text, context: 65536, validation_split: 0}
model:
  layers:
    - {type: embedding, dim: 16}
    - {type: residual, layers: [{type: layernorm}, {type: attention, heads: 8}]}
    - {type: dense, units: 6, per_step: true}
training: {epochs: 1, batch_size: 4}
"""
ADDITIONS = """\
data: {dataset: additions, digits: 6, context: 16}
model:
  layers:
    - {type: embedding, dim: 8}
    - {type: dense, units: 13, per_step: true}
"""
WIDE = """\
data: {dataset: xor, n_samples: 1000000}
model:
  layers:
    - {type: dense, units: 100000, activation: relu}
    - {type: dense, units: 2}
training: {batch_size: 1000000}
"""
CASES = {  # name -> (config, what the message must say)
    "attention-L2": (ATTENTION, ["training.batch_size: one training step of 1 examples needs about",
                                 "model.layers.1.layers.1 (attention) keeps", "8 heads × 65536² attention weights",
                                 "lower training.batch_size (1), data.context (65536) or the heads "
                                 "(model.layers.1.layers.1.heads: 8)"]),
    "additions-table": (ADDITIONS, ["data.n_samples: 810,000,000,000 problems of 6-digit operands would take about",
                                    "TiB to generate", "set data.n_samples (e.g. 10000"]),
    "wide-batch": (WIDE, ["training.batch_size: one training step of", "model.layers.0 (dense) keeps",
                          "lower training.batch_size"]),
}  # fmt: skip


@pytest.fixture
def folder(tmp_path):
    rng = random.Random(0)
    (tmp_path / "long.txt").write_text("".join(rng.choice("abcde\n") for _ in range(70_000)), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("case", CASES)
def test_a_step_beyond_the_machine_is_refused_before_anything_is_made(folder, case):
    text, fragments = CASES[case]
    (folder / "c.yaml").write_text(text)
    config = folder / "c.yaml"
    for argv in (("train", config, "--runs-dir", folder / "runs"), ("config", "validate", config), ("explain", config)):
        result = in_process(*argv)
        assert_user_error(result, 2, "this machine allows", *fragments)
        assert f"{config}:" in result.stderr  # the key's line in the config
    assert runs_in(folder / "runs") == []


def test_a_memory_error_that_still_happens_is_exit_1_one_line_and_the_run_marked_failed(tmp_path):
    import subprocess

    layers = "    - {type: dense, units: 4096, activation: relu}\n    - {type: dense, units: 2}\n"
    config = tmp_path / "c.yaml"
    config.write_text("data: {dataset: xor, n_samples: 20000, validation_split: 0}\nmodel:\n  layers:\n"
                      f"{layers}training: {{epochs: 1, batch_size: 20000}}\n")  # fmt: skip
    # about 1.3 GB by the estimate (within any test machine's allowance), in an address space capped at 700 MB
    argv = [*BACKPROP, "train", config, "--runs-dir", tmp_path / "runs", "--threads", "1"]
    result = subprocess.run(argv, env=environment(), capture_output=True, text=True, timeout=120,
                            preexec_fn=limit_memory(700 * 2**20))  # fmt: skip
    assert_user_error(result, 1, "out of memory at epoch 1, step 1 (Unable to allocate")
    assert result.stderr.count("error:") == 1 and result.stderr.startswith("error: ")
    (run,) = runs_in(tmp_path / "runs")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "failed" and "Unable to allocate" in summary["stop_reason"]
