"""`config validate` fails exactly when `train` fails before its first step, with the same first line.

Both call train/preflight.py; this corpus of broken configs (and a few good ones, as controls) holds them
equal through the CLI, each pair run in-process on the same files.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.reliability.helpers import in_process

CSV = "a,b,c,d,label\n" + "".join(f"{i % 7},{i % 5},{i % 3},{i % 11},{'xyz'[i % 3]}\n" for i in range(60))
DENSE3 = "model:\n  layers:\n    - {type: dense, units: 8, activation: relu}\n    - {type: dense, units: 3}\n"
TRAIN = "training: {epochs: 1, batch_size: 16}\n"


def cfg(data: str, model: str = DENSE3, extra: str = "") -> str:
    return f"data: {data}\n{model}{extra}{TRAIN}"


# name -> (config text, the message both must print, or None: both succeed)
CORPUS = {
    "digits-3-units": (
        cfg("{dataset: digits}"),
        "model.layers.1.units: the data has 10 classes but the last layer has 3",
    ),
    "bce-3-classes": (
        cfg("{dataset: iris}", extra="loss: binary_cross_entropy\n"),
        "binary_cross_entropy is for 2 classes",
    ),
    "mse-on-classes": (cfg("{dataset: iris}", extra="loss: mse\n"), "mse is a regression loss"),
    "cosine-min-lr": (cfg("{dataset: iris}", extra="schedule: {type: cosine, min_lr: 0.5}\n"), "schedule.min_lr"),
    "warmup-min-lr": (
        cfg(
            "{dataset: iris}", extra="optimizer: {type: sgd, lr: 0.01}\nschedule: {type: warmup_cosine, min_lr: 0.1}\n"
        ),
        "above the optimizer's lr",
    ),
    "no-such-file": (cfg("{path: nothere.csv, target: label}"), "data.path: file not found"),
    "no-such-test-file": (cfg("{path: train.csv, target: label, test_path: gone.csv}"), "data.test_path: file not"),
    "no-target-column": (cfg("{path: train.csv, target: lable}"), "has no column `lable` (data.target)"),
    "no-feature-column": (cfg("{path: train.csv, target: label, features: [a, bb]}"), "has no column `bb`"),
    "bad-cell": (cfg("{path: bad.csv, target: label, columns: {b: number}}"), "value `abc` is not a number"),
    "absent-typed-column": (cfg("{path: train.csv, target: label, columns: {cty: category}}"), "names `cty`"),
    "csv-2-units": (cfg("{path: train.csv, target: label}", model=DENSE3.replace("units: 3", "units: 2")), "3 classes"),
    "es-val-without-split": (
        cfg("{dataset: iris, validation_split: 0}").replace(
            TRAIN, "training: {epochs: 1, early_stopping: {monitor: val_loss}}\n"
        ),
        "training.early_stopping.monitor: is val_loss, but data.validation_split is 0",
    ),
    "es-accuracy-regression": (
        "data: {dataset: sine}\nmodel:\n  layers: [{type: dense, units: 1}]\nloss: mse\n"
        "training: {epochs: 1, early_stopping: {monitor: train_accuracy}}\n",
        "is train_accuracy, but this is a regression run",
    ),
    "plateau-val-without-split": (
        cfg("{dataset: iris, validation_split: 0}", extra="schedule: {type: plateau}\n"),
        "schedule.monitor: is val_loss",
    ),
    "npz-wrong-units": (cfg("{path: data.npz}", model=DENSE3.replace("units: 3", "units: 5")), "3 classes"),
    "npz-ragged": (cfg("{path: ragged.npz}"), "x has 30 rows but y has 29"),
    "npy-without-target": (cfg("{path: x.npy}"), "an .npy file holds one array"),
    "npy-target-missing": (cfg("{path: x.npy, target: gone.npy}"), "data.target: file not found"),
    "pool-on-vectors": (
        cfg("{dataset: iris}", model="model:\n  layers: [{type: maxpool2d}, {type: dense, units: 3}]\n"),
        "model.layers.0",
    ),
    "spirals-4-classes": (cfg("{dataset: spirals, classes: 4}"), "the data has 4 classes"),
    "csv-only-the-target": (cfg("{path: only-target.csv, target: label}"), "has only the target column `label`"),
    "csv-too-large-to-scale": (cfg("{path: huge.csv, target: label}"), "column `a`: its values (up to 1e+308, row"),
    "cross-entropy-on-regression-npz": (
        cfg("{path: fractions.npz}"),
        "cross_entropy needs class labels, but the data's target is a regression",
    ),
    "text-lm-one-score-per-window": (  # flatten + dense: one prediction per window, labels one per step
        "data: {path: text.txt, format: text, context: 8}\nmodel:\n  layers:\n    - {type: embedding, dim: 4}\n"
        "    - {type: flatten}\n    - {type: dense, units: 6}\n" + TRAIN,
        "cross_entropy needs one label per example to match the model's output (6,), but the data has labels of "
        "shape (8,) per example (one per step)",
    ),
    "attention-heads-not-dividing": (
        "data: {path: text.txt, format: text, context: 8}\nmodel:\n  layers:\n    - {type: embedding, dim: 4}\n"
        "    - {type: attention, heads: 3}\n    - {type: dense, units: 6, per_step: true}\n" + TRAIN,
        "model.layers.1: attention with 3 heads needs features divisible by 3, but its input has 4",
    ),
    "positional-shorter-than-context": (
        "data: {path: text.txt, format: text, context: 8}\nmodel:\n  layers:\n    - {type: embedding, dim: 4}\n"
        "    - {type: positional, max_length: 4}\n    - {type: dense, units: 6, per_step: true}\n" + TRAIN,
        "model.layers.1: max_length 4 is shorter than the 8-step sequences the model is built for",
    ),
    # the data's meaning, not only the shapes (nn/plan.py): a next-token model must not read its targets
    "text-lm-attention-not-causal": (
        "data: {path: text.txt, format: text, context: 8}\nmodel:\n  layers:\n    - {type: embedding, dim: 4}\n"
        "    - {type: attention, heads: 2, causal: false}\n    - {type: dense, units: 6, per_step: true}\n" + TRAIN,
        "model.layers.1: the targets are the next token at every step, and this attention layer would read them",
    ),
    "text-lm-bidirectional-lstm": (
        "data: {path: text.txt, format: text, context: 8}\nmodel:\n  layers:\n    - {type: embedding, dim: 4}\n"
        "    - {type: lstm, units: 4, return_sequences: true, bidirectional: true}\n"
        "    - {type: dense, units: 6, per_step: true}\n" + TRAIN,
        "model.layers.1: the targets are the next token at every step, and this lstm layer would read them",
    ),
    "embedding-after-dense": (
        cfg("{dataset: iris}", model="model:\n  layers:\n    - {type: dense, units: 8}\n"
            "    - {type: embedding, dim: 2, vocab_size: 10}\n    - {type: flatten}\n    - {type: dense, units: 3}\n"),
        "model.layers.1: an embedding layer reads the data's integer token ids, so it must be the model's first",
    ),
    "attention-on-vectors": (  # one shape function per layer: validate said valid, train refused
        cfg("{dataset: iris}", model="model:\n  layers:\n    - {type: attention, heads: 1}\n"
            "    - {type: dense, units: 3}\n"),
        "model.layers.0: an attention layer needs sequences of shape (C, L), but its input has shape (4,)",
    ),
    "text-lm-ok": (
        "data: {path: text.txt, format: text, context: 8}\nmodel:\n  layers:\n    - {type: embedding, dim: 4}\n"
        "    - {type: dense, units: 6, per_step: true}\n" + TRAIN,
        None,
    ),
    "iris-ok": (cfg("{dataset: iris}"), None),
    "csv-ok": (cfg("{path: train.csv, target: label}"), None),
    "npz-ok": (cfg("{path: data.npz}"), None),
    "npy-ok": (cfg("{path: x.npy, target: y.npy}"), None),
    "sine-es-ok": (
        "data: {dataset: sine}\nmodel:\n  layers: [{type: dense, units: 1}]\nloss: mse\n"
        "training: {epochs: 1, early_stopping: {monitor: val_loss}}\n",
        None,
    ),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    base = tmp_path_factory.mktemp("corpus")
    (base / "train.csv").write_text(CSV)
    (base / "bad.csv").write_text(CSV.replace("\n3,3,0,3,x\n", "\n3,abc,0,3,x\n"))
    (base / "only-target.csv").write_text("label\n" + "xyz\n" * 10)
    (base / "huge.csv").write_text("a,label\n" + "".join(f"{(-1) ** i}e308,{'xyz'[i % 3]}\n" for i in range(30)))
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 4)), np.arange(30) % 3
    np.savez(base / "data.npz", x=x, y=y)
    np.savez(base / "ragged.npz", x=x, y=y[:29])
    np.save(base / "x.npy", x)
    np.save(base / "y.npy", y)
    np.savez(base / "fractions.npz", x=x, y=rng.normal(size=30))  # numbers, not classes: a regression target
    (base / "text.txt").write_text("abcde edcba " * 40)  # a vocabulary of 6 characters, the space one of them
    for name, (text, _) in CORPUS.items():
        (base / f"{name}.yaml").write_text(text)
    return base


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


@pytest.mark.parametrize("name", CORPUS)
def test_validate_fails_exactly_when_train_fails_before_training_with_the_same_first_line(corpus, name):
    expected = CORPUS[name][1]
    runs = corpus / f"runs-{name}"
    validate = in_process("config", "validate", f"{name}.yaml", cwd=corpus)
    train = in_process("train", f"{name}.yaml", "--runs-dir", runs, "--quiet", "--threads", "1", cwd=corpus)
    if expected is None:
        assert validate.returncode == 0 and "valid" in validate.stderr, validate.stderr
        assert train.returncode == 0, train.stderr
        return
    assert validate.returncode == 2 and train.returncode == 2, (validate.stderr, train.stderr)
    assert first_line(validate.stderr) == first_line(train.stderr)
    assert expected in first_line(validate.stderr), validate.stderr
    assert not runs.exists() or not any(runs.iterdir()), "train failed after creating a run directory"
