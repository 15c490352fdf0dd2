"""Sampling, greedy completion and exact match on a real model whose weights are set by hand (a bigram table)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backprop_cli.errors import UserError
from backprop_cli.inference import Trained
from backprop_cli.lm import complete, exact_match, next_id, sample_text
from backprop_cli.nn.losses import build_loss
from backprop_cli.nn.model import build_model

VOCAB = list("\n+0123456789=")


def bigram(next_of: dict[str, str], context: int = 8) -> Trained:
    """embedding (one-hot) -> per-step dense whose row for character c scores next_of[c] highest."""
    v = len(VOCAB)
    specs = [
        {"type": "embedding", "dim": v, "vocab_size": v},
        {"type": "dense", "units": v, "per_step": True, "use_bias": False},
    ]
    model = build_model(specs, (context,), np.random.default_rng(0), np.float64)
    model.layers[0].params["W"][...] = np.eye(v)
    table = model.layers[1].params["W"]
    table[...] = 0.0
    for c, n in next_of.items():
        table[VOCAB.index(c), VOCAB.index(n)] = 10.0
    meta = {"text": {"kind": "additions"}, "class_names": VOCAB, "input_shape": [context], "task": "classification"}
    return Trained(model, build_loss("cross_entropy"), {}, meta, Path("bigram"), 1, np.dtype("float64"))


def test_greedy_completion_follows_the_likeliest_next_character_up_to_the_stop():
    model = bigram({"=": "5", "5": "\n", "\n": "1"})
    assert complete(model, ["\n2+3=", "=", "\n1+1="], max_new=4) == ["5", "5", "5"]


def test_exact_match_counts_the_answers_that_equal_the_sum():
    model = bigram({"=": "5", "5": "\n"})  # always answers 5
    result = exact_match(model, np.array([2, 1, 4]), np.array([3, 1, 1]))
    assert result["exact_match"] == pytest.approx(2 / 3) and result["problems"] == 3
    assert result["wrong_examples"] == ["1+1=5"]


def test_sampling_with_the_same_seed_repeats_and_slides_past_the_context():
    model = bigram({"1": "2", "2": "1"}, context=4)
    model.model.layers[1].params["W"][...] += 3.0 * np.random.default_rng(1).random((13, 13))  # some randomness
    a, b, c = ("".join(sample_text(model, "12", 30, seed=s)) for s in (5, 5, 6))
    assert a == b and a != c and len(a) == 30  # 32 characters: the window slid past the context of 4
    assert "".join(sample_text(model, "1", 6, temperature=0.0)) == "212121"


def test_top_k_one_is_greedy_and_temperature_must_not_be_negative():
    rng = np.random.default_rng(0)
    logits = np.array([0.0, 3.0, 1.0])
    assert {next_id(logits, 1.0, 1, rng) for _ in range(20)} == {1}
    with pytest.raises(UserError, match="temperature must be >= 0"):
        sample_text(bigram({}), "1", 3, temperature=-1.0)
