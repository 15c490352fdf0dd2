"""Text data: vocabulary, next-character windows, validation from the end, additions, and bad text files."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from backprop_cli.config.schema import DataConfig
from backprop_cli.data import DATASETS, load_data
from backprop_cli.data.additions import split_problems
from backprop_cli.data.text import decode, encode, vocabulary, windows
from backprop_cli.errors import DataError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def text_cfg(path, **fields) -> DataConfig:
    return DataConfig(path=str(path), format="text", **{"context": 4, "validation_split": 0.0, **fields})


def test_the_vocabulary_is_the_sorted_distinct_characters_and_encoding_round_trips():
    vocab = vocabulary("hello, world\n")
    assert vocab == ["\n", " ", ",", "d", "e", "h", "l", "o", "r", "w"]
    assert decode(encode("hello", vocab, "t"), vocab) == "hello"


def test_each_window_targets_the_next_character_at_every_step():
    ids = np.arange(10)
    x, y = windows(ids, 4, 3, np.float32)
    np.testing.assert_array_equal(x, [[0, 1, 2, 3], [3, 4, 5, 6]])  # starts 0, 3; a third would need id 10
    np.testing.assert_array_equal(y, x + 1)
    assert x.dtype == np.float32 and y.dtype == np.int64


def test_a_text_file_becomes_windows_with_the_validation_part_taken_from_its_end(tmp_path):
    path = tmp_path / "book.txt"
    text = "abcdefghij" * 10  # 100 characters
    path.write_text(text, encoding="utf-8")
    ds = load_data(text_cfg(path, validation_split=0.2), seed=0)
    assert ds.class_names == list("abcdefghij") and ds.n_classes == 10 and ds.input_shape == (4,)
    # 80 training characters, stride 4: starts 0..72, as the window at 76 would need a 81st character
    assert ds.x_train.shape == ds.y_train.shape == (19, 4)
    assert decode(ds.x_val[0], ds.class_names) == text[80:84]  # the end of the text, not shuffled windows
    assert ds.x_val.shape == (4, 4)  # 20 characters: starts 0, 4, 8, 12
    assert ds.text == {"kind": "text"}


def test_a_stride_gives_overlapping_training_windows(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("abcdefgh", encoding="utf-8")
    ds = load_data(text_cfg(path, stride=1), seed=0)
    assert len(ds.x_train) == 4  # starts 0..3: each needs 5 characters


def test_evaluating_with_a_saved_vocabulary_names_a_character_it_lacks(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("abab\nabxab", encoding="utf-8")
    meta = {"class_names": ["\n", "a", "b"]}
    with pytest.raises(DataError, match=r"line 2, column 3: character 'x' \(U\+0078\) is not in the model's"):
        load_data(text_cfg(path), seed=0, meta=meta)


@pytest.mark.parametrize(
    "content, fields, message",
    [
        (b"ab\xe9cd", {}, r"is not UTF-8 text: byte 0xe9 at byte offset 2 \(line 1\)"),
        (b"", {}, "holds no text"),
        (b"abcd", {}, r"data.context 4 is longer than the training part \(4 characters\)"),
        (b"abcdefghij", {"validation_split": 0.3}, "data.context 4 is longer than the validation part"),
    ],
)
def test_a_bad_text_file_is_one_data_error(tmp_path, content, fields, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        load_data(text_cfg(path, **fields), seed=0)
    assert str(path) in str(info.value)


def test_text_data_needs_a_context(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("abcdef", encoding="utf-8")
    with pytest.raises(DataError, match="data.context: text data needs a context"):
        load_data(DataConfig(path=str(path), format="text"), seed=0)


def test_the_bundled_shakespeare_matches_its_checksum_and_loads():
    ((filename, sha256),) = DATASETS["shakespeare"].bundled
    data = (resources.files("backprop_cli") / "datasets" / filename).read_bytes()
    assert hashlib.sha256(data).hexdigest() == sha256 and len(data) < 300_000
    ds = load_data(DataConfig(dataset="shakespeare", context=64), seed=0)
    assert ds.n_classes == DATASETS["shakespeare"].n_classes == 62
    assert decode(ds.x_train[0][:14], ds.class_names) == "First Citizen:"


def test_additions_hold_out_test_problems_that_the_training_text_never_contains():
    (a, b), (ta, tb) = split_problems(2, None, seed=3)
    assert len(a) + len(ta) == 90 * 90 and len(ta) == 810  # operands of exactly two digits: 10..99
    assert min(a.min(), b.min(), ta.min()) == 10 and max(a.max(), b.max(), ta.max()) == 99
    train = set(zip(a.tolist(), b.tolist()))
    assert not train & set(zip(ta.tolist(), tb.tolist()))
    ds = load_data(DataConfig(dataset="additions", context=16, validation_split=0.0), seed=3)
    text = decode(ds.x_train.ravel(), ds.class_names)  # stride = context: the windows tile the text
    for line in text.split("\n")[1:-1][:200]:  # whole lines inside the windows
        left, answer = line.split("=")
        x, y = map(int, left.split("+"))
        assert int(answer) == x + y and (x, y) in train
    assert ds.n_classes == DATASETS["additions"].n_classes == 13 and ds.x_test is not None


def test_additions_are_generated_from_the_seed():
    first, again, other = (split_problems(2, 500, seed) for seed in (1, 1, 2))
    np.testing.assert_array_equal(first[0][0], again[0][0])
    assert not np.array_equal(first[0][0], other[0][0])


@pytest.mark.parametrize(
    "fields, key",
    [
        ({"dataset": "iris", "context": 8}, "data.context"),
        ({"dataset": "shakespeare", "context": 8, "digits": 3}, "data.digits"),
        ({"dataset": "iris", "format": "text"}, "data.format"),
    ],
)
def test_text_options_on_other_data_are_errors_naming_the_key(fields, key):
    with pytest.raises(DataError) as info:
        load_data(DataConfig(**fields), seed=0)
    assert info.value.where == key


def held_out_scoring(held_ids: np.ndarray, context: int, x: np.ndarray, y: np.ndarray) -> None:
    """x, y are the windows of `held_ids`: consecutive and disjoint from its start, so that every held-out character
    after the first is a target exactly once, and what is left unscored is shorter than one window."""
    n = len(x)
    np.testing.assert_array_equal(x.reshape(-1), held_ids[: n * context])  # window i+1 starts where i ended
    np.testing.assert_array_equal(y.reshape(-1), held_ids[1 : n * context + 1])  # each character scored once
    assert len(held_ids) - 1 - n * context < context  # no further whole window was left out


@settings(max_examples=60, deadline=None)
@given(
    length=st.integers(60, 400),
    context=st.integers(2, 12),
    stride_part=st.floats(0.05, 0.95),
    split=st.sampled_from([0.1, 0.25, 0.5]),
    seed=st.integers(0, 2**16),
)
@example(length=60, context=10, stride_part=0.9375, split=0.25, seed=0)  # stride 9: as many windows as disjoint ones
def test_validation_and_test_windows_score_every_held_out_character_once_whatever_the_stride(
    tmp_path_factory, length, context, stride_part, split, seed
):
    stride = max(1, int(context * stride_part))  # below the context: training windows overlap
    rng = np.random.default_rng(seed)
    alphabet = "abcdefg \n"
    text = alphabet + "".join(rng.choice(list(alphabet), length))  # every character in the training part
    n_val = int(round(len(text) * split))
    if len(text) - n_val <= context or n_val <= context:
        return  # too short to cut: refused elsewhere
    tmp = tmp_path_factory.mktemp("text")
    (tmp / "book.txt").write_text(text, encoding="utf-8")
    (tmp / "test.txt").write_text(text[::-1], encoding="utf-8")
    ds = load_data(text_cfg(tmp / "book.txt", context=context, stride=stride, validation_split=split,
                            test_path=str(tmp / "test.txt")), seed=0)  # fmt: skip
    ids = encode(text, ds.class_names, "book")
    held_out_scoring(ids[-n_val:], context, ds.x_val, ds.y_val)
    held_out_scoring(encode(text[::-1], ds.class_names, "test"), context, ds.x_test, ds.y_test)
    n_train = len(ids) - n_val
    assert stride < context and len(ds.x_train) == len(range(0, n_train - context, stride))  # one every `stride`
    if len(ds.x_train) > 1:  # so the training windows overlap
        np.testing.assert_array_equal(ds.x_train[1][: context - stride], ds.x_train[0][stride:])


def test_the_shipped_additions_config_scores_each_validation_character_once():
    from backprop_cli.config.load import load_config
    from backprop_cli.data.text import load_corpus

    data = load_config(CONFIGS / "additions-transformer.yaml", []).config.data
    assert data.stride < data.context and data.validation_split > 0  # the case this guards
    ds = load_data(data, seed=0)
    ids = encode(load_corpus(data, 0).train, ds.class_names, "additions")
    held_out_scoring(ids[-int(round(len(ids) * data.validation_split)) :], data.context, ds.x_val, ds.y_val)


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("stride", [None, 3])
def test_cross_validation_folds_of_a_text_are_contiguous_blocks_that_training_never_reads(tmp_path, k, stride):
    text = "".join(chr(0x4E00 + i) for i in range(300))  # 300 distinct characters: an id is its position
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    tests = []
    for fold in range(k):
        ds = load_data(text_cfg(tmp_path / "t.txt", context=6, stride=stride, validation_split=0.1, folds=k, fold=fold,
                                test_path=str(tmp_path / "t.txt")), seed=0)  # fmt: skip
        test = set(ds.x_test.reshape(-1).astype(int)) | set(ds.y_test.reshape(-1).astype(int))
        assert test == set(range(min(test), max(test) + 1))  # one block, cut from the text (not the test_path)
        for x, y in ((ds.x_train, ds.y_train), (ds.x_val, ds.y_val)):
            seen = set(x.reshape(-1).astype(int)) | set(y.reshape(-1).astype(int))
            assert not seen & test  # training and validation never read a character of the test block
            np.testing.assert_array_equal(x, x[:, :1] + np.arange(6))  # no window spans the gap around the block
        assert not (set(ds.x_train.reshape(-1).astype(int)) & set(ds.x_val.reshape(-1).astype(int)))
        assert f"cross-validation: fold {fold} of {k} is the test split" in " ".join(ds.notes)
        tests.append(test)
    blocks = sorted(tests, key=min)
    assert all(a.isdisjoint(b) for a, b in zip(blocks, blocks[1:])) and max(map(len, tests)) - min(map(len, tests)) <= 2
    assert len(set().union(*tests)) >= 300 - k * 7  # the blocks cover the text, but for each block's unscored tail
