"""A character transformer through the CLI: train on a text file, generate, eval; bad text and prompts exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tests.cli.conftest import backprop, err, out

TEXT = "the cat sat on the mat. the dog sat on the log.\n" * 40

MODEL = """
model:
  layers:
    - {type: embedding, dim: 8}
    - {type: positional, kind: sinusoidal}
    - {type: residual, layers: [{type: layernorm}, {type: attention, heads: 2}]}
    - {type: residual, layers: [{type: layernorm}, {type: dense, units: 16, activation: gelu, per_step: true},
                                {type: dense, units: 8, per_step: true}]}
    - {type: layernorm}
    - {type: dense, units: VOCAB, per_step: true}
"""


def write_config(tmp_path, text_name="book.txt", context=16, vocab=None, extra="") -> str:
    vocab = vocab if vocab is not None else len(set(TEXT))
    path = tmp_path / "lm.yaml"
    path.write_text(
        f"name: lm\nseed: 1\ndata: {{path: {text_name}, format: text, context: {context}, validation_split: 0.1}}\n"
        + MODEL.replace("VOCAB", str(vocab))
        + "optimizer: {type: adam, lr: 0.01}\ntraining: {epochs: 6, batch_size: 16}\n"
        + extra
    )
    return str(path)


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lm")
    (tmp / "book.txt").write_text(TEXT, encoding="utf-8")
    result = backprop("train", write_config(tmp), "--runs-dir", str(tmp / "runs"), "--quiet")
    assert result.returncode == 0, err(result)
    return out(result).strip()


def test_a_char_transformer_trains_end_to_end_and_learns_the_text(lm_run):
    lines = [json.loads(line) for line in open(f"{lm_run}/metrics.jsonl")]
    assert lines[-1]["val_loss"] < 0.6 * lines[0]["train_loss"]  # far below the start (~ln 17 = 2.8)
    assert 0.0 <= lines[-1]["train_accuracy"] <= 1.0  # over every character, not per window


def test_eval_reports_loss_perplexity_and_bits_per_character(lm_run):
    result = backprop("eval", lm_run, "--json")
    assert result.returncode == 0, err(result)
    report = json.loads(out(result))
    assert report["split"] == "val" and report["n_characters"] == report["n"] * 16
    assert report["perplexity"] == pytest.approx(np.exp(report["loss"]))
    assert report["bits_per_char"] == pytest.approx(report["loss"] / np.log(2))
    assert report["bits_per_char"] < np.log2(17)  # better than guessing among the 17 characters


def test_generate_continues_the_prompt_and_the_same_seed_gives_the_same_text(lm_run):
    runs = [backprop("generate", lm_run, "--prompt", "the ", "--length", "40", "--seed", s) for s in ("3", "3", "4")]
    assert all(r.returncode == 0 for r in runs), err(runs[0])
    texts = [out(r) for r in runs]
    assert len(texts[0]) == 40 and set(texts[0]) <= set(TEXT)
    assert texts[0] == texts[1] and texts[0] != texts[2]
    greedy = backprop("generate", lm_run, "--prompt", "the cat sat on ", "--length", "8", "--temperature", "0")
    assert out(greedy) == out(backprop("generate", lm_run, "--prompt", "the cat sat on ", "--length", "8",
                                        "--temperature", "0", "--seed", "9"))  # fmt: skip


@pytest.mark.parametrize(
    "prompt, message",
    [
        ("the ZOO", "--prompt: line 1, column 5: character 'Z' (U+005A) is not in the model's vocabulary"),
        ("x" * 17, "the prompt has 17 characters, but this model reads at most 16"),
        ("", "the prompt is empty"),
    ],
)
def test_a_bad_prompt_is_one_message_and_exit_2(lm_run, prompt, message):
    result = backprop("generate", lm_run, "--prompt", prompt)
    assert result.returncode == 2 and message in err(result) and "Traceback" not in err(result)
    assert out(result) == ""


def test_generate_streams_into_a_pipe_so_that_a_closed_pipe_stops_it_at_once(lm_run):
    """`generate ... --length 1000000 | head -c 10`: the first characters arrive while it is still sampling (the
    pipe fills long before a million), and when the reader leaves it exits 141 as predict does, quietly."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, "-m", "backprop_cli", "generate", lm_run, "--prompt", "the ", "--length", "1000000"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        first = pool.submit(proc.stdout.read, 10).result(timeout=90)  # a hang guard: unstreamed, nothing comes
        assert len(first) == 10 and set(first.decode()) <= set(TEXT)
        assert proc.poll() is None  # still sampling: the ten characters were written as they came
        proc.stdout.close()  # the reader leaves, as `head -c 10` does
        assert proc.wait(timeout=90) == 141
        assert proc.stderr.read().decode() == ""  # no traceback, no "Exception ignored"
    finally:
        proc.kill()  # before the pool is shut down: a read still blocked on the pipe ends with the process
        proc.wait()
        pool.shutdown()


def test_generate_on_a_model_of_other_data_says_it_has_no_characters(tmp_path):
    from tests.cli.conftest import CONFIGS

    run = out(backprop("train", str(CONFIGS / "iris.yaml"), "--runs-dir", str(tmp_path), "--quiet",
                       "--set", "training.epochs=1")).strip()  # fmt: skip
    result = backprop("generate", run, "--prompt", "a")
    assert result.returncode == 2 and "not on text" in err(result)


@pytest.mark.parametrize(
    "content, context, message",
    [
        (b"caf\xe9 au lait", 4, "is not UTF-8 text: byte 0xe9 at byte offset 3 (line 1)"),
        (b"", 4, "holds no text"),
        (b"a short text", 64, "data.context 64 is longer than the training part"),
    ],
)
def test_bad_text_data_is_one_message_and_exit_2(tmp_path, content, context, message):
    (tmp_path / "bad.txt").write_bytes(content)
    config = write_config(tmp_path, "bad.txt", context=context)
    result = backprop("train", config, "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 2, err(result)
    assert message in err(result) and "bad.txt" in err(result) and "Traceback" not in err(result)
    assert err(result).count("error:") == 1


def test_token_ids_beyond_the_embeddings_vocabulary_in_a_users_file_exit_2(tmp_path):
    x = np.array([[0, 1, 2, 3], [4, 1, 2, 9], [1, 1, 1, 1], [2, 2, 2, 2]] * 5, dtype=np.int64)
    np.savez(tmp_path / "ids.npz", x=x, y=np.array([0, 1] * 10))
    (tmp_path / "ids.yaml").write_text(
        "data: {path: ids.npz, scale: none, validation_split: 0.0}\n"
        "model:\n  layers:\n    - {type: embedding, dim: 4, vocab_size: 8}\n"
        "    - {type: flatten}\n    - {type: dense, units: 2}\n"
    )
    result = backprop("train", str(tmp_path / "ids.yaml"), "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 2, err(result)
    assert "ids.npz" in err(result) and "token id 9 at (example, step) (1, 3) is outside the vocabulary 0..7" in err(
        result
    )


# ---- text is a declared data kind: every verb that touches data reads it as text, or refuses naming the verb ----
@pytest.fixture(scope="module")
def sums_run(tmp_path_factory):
    """A language model of the built-in additions text (1-digit sums), to score a file of the user's."""
    tmp = tmp_path_factory.mktemp("sums")
    config = tmp / "sums.yaml"
    config.write_text("seed: 0\ndata: {dataset: additions, digits: 1, context: 8, stride: 4, validation_split: 0.1}\n"
                      + MODEL.replace("VOCAB", "13") + "training: {epochs: 1, batch_size: 16}\n")  # fmt: skip
    result = backprop("train", str(config), "--runs-dir", str(tmp / "runs"), "--quiet")
    assert result.returncode == 0, err(result)
    return out(result).strip()


@pytest.mark.parametrize("which", ["text file", "built-in text"])
def test_eval_of_a_language_model_reads_a_new_file_as_text_and_scores_each_character_once(
    lm_run, sums_run, tmp_path, which
):
    run, text = (lm_run, "the dog sat on the cat.\n" * 10) if which == "text file" else (sums_run, "3+4=7\n5+1=6\n" * 9)
    (tmp_path / "other.txt").write_text(text, encoding="utf-8")
    result = backprop("eval", run, "--data", f"path={tmp_path / 'other.txt'}", "--json")
    assert result.returncode == 0, err(result)
    report = json.loads(out(result))
    context = 16 if which == "text file" else 8
    assert report["scored"] == f"the whole text of {tmp_path / 'other.txt'}" and "bits_per_char" in report
    assert report["n"] == (len(text) - 1) // context  # consecutive windows, even for a model trained at stride 4
    assert report["n_characters"] == report["n"] * context


@pytest.mark.parametrize(
    "data, message",
    [
        ("format=auto", "the model is a language model, trained on text: format=auto would give it rows"),
        ("dataset=iris", "the model is a language model, trained on text: dataset=iris would give it rows"),
    ],
)
def test_eval_refuses_data_of_the_other_kind_for_a_language_model(lm_run, data, message):
    result = backprop("eval", lm_run, "--data", data)
    assert result.returncode == 2 and f"error: --data: {message}" in err(result), err(result)


def test_eval_refuses_text_for_a_model_of_rows(tmp_path):
    from tests.cli.conftest import CONFIGS

    run = out(backprop("train", str(CONFIGS / "iris.yaml"), "--runs-dir", str(tmp_path), "--quiet",
                       "--set", "training.epochs=1")).strip()  # fmt: skip
    result = backprop("eval", run, "--data", "dataset=shakespeare")
    assert result.returncode == 2 and "the model is trained on rows: dataset=shakespeare would give it text" in err(
        result
    )


@pytest.mark.parametrize("rows", [b"1,2,3\n", b"the cat\n", b""])
def test_predict_on_a_language_model_is_refused_naming_generate_and_eval(lm_run, rows):
    result = backprop("predict", lm_run, "-", stdin=rows)
    assert result.returncode == 2 and out(result) == ""
    assert "is a language model (trained on text): predict reads rows of features" in err(result)
    assert "backprop generate RUN --prompt TEXT" in err(result) and "backprop eval RUN --data path=FILE" in err(result)
    assert "Traceback" not in err(result) and err(result).count("error:") == 1


def test_cv_of_a_language_model_holds_out_a_different_block_of_the_text_in_each_fold(tmp_path):
    (tmp_path / "book.txt").write_text(TEXT, encoding="utf-8")
    result = backprop("cv", write_config(tmp_path), "--folds", "3", "--runs-dir", str(tmp_path / "cv"), "--json",
                      "--set", "training.epochs=1", "--workers", "1")  # fmt: skip
    assert result.returncode == 0, err(result)
    assert "note: text data: the folds are 3 contiguous blocks of the text" in err(result)
    folds = json.loads(out(result))["folds"]
    assert len(folds) == 3 and all(f["test_loss"] is not None for f in folds)
    assert len({f["test_loss"] for f in folds}) == 3  # three different test blocks, three different scores
