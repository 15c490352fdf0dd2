"""Text for language models: a UTF-8 text, its sorted character vocabulary, and next-character windows.

`data: {path: book.txt, format: text, context: 128}` (or a built-in text: shakespeare, additions).
Each example is `context` characters as ids x (L,) and the same window shifted by one as targets
y (L,): at every step the model predicts the next character. The validation split is the END of the
text (validation_split of its characters), so no validation window overlaps a training window.
Windows start every `stride` characters (default: context, so an epoch reads the text once).
The vocabulary is saved with the model as its class names, so predictions decode and eval/generate
encode new text the same way.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backprop_cli.data.dataset import Dataset
from backprop_cli.data.scaling import Scaler
from backprop_cli.errors import DataError

TEXT_DATASETS = ("shakespeare", "additions")
MAX_TEXT_BYTES = 256 << 20  # a char-level model on a laptop reads megabytes; more is a mistake


@dataclass
class Corpus:
    """A text to train on (validation comes from its end), an optional test text, and what eval needs."""

    train: str
    source: str
    test: str | None = None
    info: dict = field(default_factory=dict)  # saved in the checkpoint under data meta "text"


def is_text(cfg) -> bool:
    return getattr(cfg, "format", None) == "text" or cfg.dataset in TEXT_DATASETS


def read_text_file(path: str) -> str:
    """A user's text file as str: a regular file, at most MAX_TEXT_BYTES, UTF-8 (a BOM is dropped)."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise DataError("is not a regular file", where=path, fix="give a text file")
        if info.st_size > MAX_TEXT_BYTES:
            raise DataError(f"is {info.st_size:,} bytes; text data is limited to {MAX_TEXT_BYTES:,}", where=path)
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError("file not found", where=path, fix="check data.path (relative to the config file)") from None
    except OSError as err:
        raise DataError(f"cannot read the file: {err.strerror}", where=path) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise DataError(
            f"is not UTF-8 text: byte 0x{data[err.start]:02x} at byte offset {err.start} (line {line})",
            where=path,
            fix="convert it, e.g. `iconv -f latin1 -t utf-8 book.txt > book-utf8.txt`",
        ) from None


def load_corpus(cfg, seed: int) -> Corpus:
    if cfg.dataset == "additions":
        from backprop_cli.data.additions import additions_corpus

        return additions_corpus(cfg.digits or 2, cfg.n_samples, seed)
    if cfg.dataset == "shakespeare":
        from backprop_cli.data.bundled import bundled_text

        return Corpus(bundled_text("shakespeare.txt"), "shakespeare")
    corpus = Corpus(read_text_file(cfg.path), cfg.path)
    if cfg.test_path:
        corpus.test = read_text_file(cfg.test_path)
    return corpus


def vocabulary(text: str) -> list[str]:
    """The distinct characters, sorted by code point: the ids are their positions."""
    return sorted(set(text))


def encode(text: str, vocab: list[str], source: str) -> np.ndarray:
    """Character ids (T,) int64; a character outside the vocabulary is a DataError naming it and its line."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    table = np.array([ord(c) for c in vocab], dtype=np.uint32)  # sorted: vocab is sorted by code point
    ids = np.minimum(np.searchsorted(table, codes), len(table) - 1)
    bad = np.flatnonzero(table[ids] != codes)
    if len(bad):
        i = int(bad[0])
        line = text.count("\n", 0, i) + 1
        column = i - (text.rfind("\n", 0, i) + 1) + 1
        raise DataError(
            f"line {line}, column {column}: character {text[i]!r} (U+{ord(text[i]):04X}) is not in the model's "
            f"vocabulary of {len(vocab)} characters",
            where=source,
            fix="remove or replace it, or train a model on text that contains it",
        )
    return ids.astype(np.int64)


def decode(ids, vocab: list[str]) -> str:
    return "".join(vocab[int(i)] for i in ids)


def windows(ids: np.ndarray, context: int, stride: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """x (N, context) ids in dtype (the model casts its input anyway), y (N, context) int64: x shifted by one."""
    starts = np.arange(0, len(ids) - context, stride)  # the last target is ids[start + context]
    index = starts[:, None] + np.arange(context)  # (N, L)
    return ids[index].astype(dtype), ids[index + 1]


def load_text_data(cfg, seed: int, dtype=np.float32, *, meta: dict | None = None) -> Dataset:
    """The windows of a text, split at its end for validation; `meta`: a trained model's vocabulary.

    Cross-validation (data.folds, data.fold) cuts the text into K contiguous blocks: block `fold` is the test
    text, the others train (validation from the end of the last). Shuffled windows would put a test window's
    overlapping neighbours into training; a test text the data came with is set aside, as for rows.
    """
    if cfg.dataset is not None:
        from backprop_cli.data.builtin import check_options, lookup

        check_options(cfg, lookup(cfg.dataset))
    context = _context(cfg)
    corpus = load_corpus(cfg, seed)
    if not corpus.train:
        raise DataError("holds no text", where=corpus.source, fix="give a UTF-8 text file with some text in it")
    vocab = list(meta["class_names"]) if meta is not None else vocabulary(corpus.train)
    ids = encode(corpus.train, vocab, corpus.source)
    stride = cfg.stride or context
    notes = [f"text: {len(ids):,} characters, vocabulary of {len(vocab)}, context {context}, stride {stride}"]
    if cfg.folds is not None:
        test, *pieces = _fold_blocks(ids, cfg.folds, cfg.fold, notes)
        test_source = corpus.source
    else:
        pieces, test_source = [ids], cfg.test_path or corpus.source
        test = encode(corpus.test, vocab, cfg.test_path or f"{corpus.source} (test)") if corpus.test else None
    n_val = int(round(sum(map(len, pieces)) * cfg.validation_split)) if cfg.validation_split > 0 else 0
    pieces, held = _take_end(pieces, n_val)
    x_train, y_train = _windows_of(pieces, context, stride, dtype, corpus.source, "the training part")
    # held-out text is scored once per character: consecutive windows, whatever the training stride
    x_val = y_val = x_test = y_test = None
    if n_val:
        x_val, y_val = _windows_of(held, context, context, dtype, corpus.source, "the validation part")
    if test is not None:
        x_test, y_test = _windows_of([test], context, context, dtype, test_source, "the test text")
    return Dataset(
        x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, x_test=x_test, y_test=y_test,
        task="classification", n_classes=len(vocab), class_names=vocab, input_shape=(context,),
        feature_names=None, scaler=Scaler("none", np.zeros(1), np.ones(1)), target_scaler=None,
        source=corpus.source, notes=notes, text={"kind": cfg.dataset or "text", **corpus.info},
    )  # fmt: skip


def _fold_blocks(ids: np.ndarray, k: int, fold: int, notes: list[str]) -> list[np.ndarray]:
    """[the test block, the text before it, the text after it]: K contiguous blocks of (nearly) equal length."""
    edges = np.linspace(0, len(ids), k + 1).round().astype(np.int64)
    a, b = int(edges[fold]), int(edges[fold + 1])
    notes.append(f"cross-validation: fold {fold} of {k} is the test split: characters {a:,} to {b:,} of the text, "
                 f"a contiguous block (the other {k - 1} blocks train)")  # fmt: skip
    return [ids[a:b], *(part for part in (ids[:a], ids[b:]) if len(part))]


def _take_end(pieces: list[np.ndarray], n: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(what is left, the last `n` ids held out): taken from the end of the last piece, then the one before."""
    kept, held = list(pieces), []
    while n > 0 and kept:
        last = kept.pop()
        take = min(n, len(last))
        held.insert(0, last[len(last) - take :])
        if take < len(last):
            kept.append(last[: len(last) - take])
        n -= take
    return kept, held


def _windows_of(pieces, context: int, stride: int, dtype, source: str, part: str):
    """The windows of each piece on its own (none spans the gap between two pieces), stacked."""
    made = [windows(p, context, stride, dtype) for p in pieces if len(p) > context]
    if not made:
        longest = max(map(len, pieces), default=0)
        what = f"{part} ({longest:,} characters)" if len(pieces) < 2 else f"the longest piece of {part} ({longest:,})"
        raise _too_short(context, source, what)
    return np.concatenate([x for x, _ in made]), np.concatenate([y for _, y in made])


def _context(cfg) -> int:
    if cfg.context is None:
        raise DataError(
            "text data needs a context: how many characters the model reads at once",
            where="data.context",
            fix="set data.context, e.g. 128",
        )
    return int(cfg.context)


def _too_short(context: int, source: str, part: str) -> DataError:
    return DataError(
        f"data.context {context} is longer than {part}: one window needs {context + 1} characters",
        where=source,
        fix="lower data.context (or data.validation_split), or use a longer text",
    )
