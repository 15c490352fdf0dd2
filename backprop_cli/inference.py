"""A trained model back from its checkpoint: scoring a split (`eval`) and predicting rows (`predict`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from backprop_cli.data.meta import check_meta, is_text_model, scalers_of
from backprop_cli.errors import CheckpointError, ConfigError, DataError
from backprop_cli.nn.attention.embedding import with_vocab_size
from backprop_cli.nn.losses import build_loss
from backprop_cli.nn.model import build_model, estimate_param_count
from backprop_cli.nn.plugin_source import PluginError
from backprop_cli.runs.checkpoint import check_tensors_match, load_checkpoint, resolve_checkpoint
from backprop_cli.train.evaluate import (
    classification_report,
    mean_loss,
    predict_raw,
    predicted_classes,
    regression_report,
)

SPLITS = ("test", "val", "train")
DTYPES = ("float32", "float64")
# what a damaged config can raise while its model is built (memory: sizes far beyond the stored tensors)
METADATA_ERRORS = (
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    MemoryError,
    RecursionError,
    ConfigError,
    CheckpointError,
)


@dataclass
class Trained:
    """A checkpoint's model, built from its resolved config; the config itself is validated only when asked."""

    model: Any
    loss: Any
    resolved_config: dict
    data_meta: dict
    path: Path
    epoch: int
    dtype: np.dtype
    weights: str = "raw"  # "ema" when the model holds the run's weight average

    @property
    def classification(self) -> bool:
        return self.data_meta.get("task") == "classification"

    @cached_property
    def config(self):
        """The pydantic Config (for `eval`, which reloads data); `predict` never needs it."""
        from backprop_cli.config.load import config_from_dict

        try:
            return config_from_dict(self.resolved_config, source=str(self.path))
        except ConfigError as err:
            raise _incomplete(self.path, err) from None


def _incomplete(path: Path, err: Exception) -> CheckpointError:
    return CheckpointError(f"checkpoint metadata is damaged or incomplete ({err})", where=str(path))


def _checked_dtype(name: Any) -> str:
    if name not in DTYPES:
        raise ValueError(f"training.dtype is {name!r}, not one of {', '.join(DTYPES)}")
    return name


def load_trained(path: str | Path, weights: str | None = None) -> Trained:
    """The model of a checkpoint file, or of a run directory's best (else last) checkpoint.

    `weights`: "raw" or "ema" (Checkpoint.weights); None takes the weight average when the run kept one.

    The model is built from the checkpoint's resolved config as it stands: it was validated before it was
    saved and the checkpoint's digest covers it; a damaged or foreign one still ends in a CheckpointError.
    """
    checkpoint = load_checkpoint(resolve_checkpoint(path))
    meta = checkpoint.meta
    try:
        config = meta["config"]
        data_meta = check_meta(meta["data"])
        scalers_of(data_meta)  # damaged statistics are refused here, not met halfway through predict
        dtype = np.dtype(_checked_dtype(config["training"]["dtype"]))
        epoch = int(meta.get("epoch", 0))
        layers, input_shape = config["model"]["layers"], tuple(data_meta["input_shape"])
        if is_text_model(data_meta):  # an embedding's vocab_size defaults to the text's vocabulary
            layers = with_vocab_size(layers, len(data_meta["class_names"]))
        if estimate_param_count(layers, input_shape, resolved=True) > sum(t.size for t in checkpoint.tensors.values()):
            raise ValueError("its config describes more parameters than the file holds")  # refused before allocating
        model = build_model(layers, input_shape, np.random.default_rng(0), dtype, resolved=True)
        loss = build_loss(config["loss"], resolved=True)
        if data_meta["task"] == "classification":  # one class name per output, or predict indexes past them
            outputs = loss.link(np.zeros((1, *model.output_shape), dtype)).shape[1:]  # (K,), or (K, L) per step
            if outputs[:1] != (len(data_meta["class_names"]),):
                n = len(data_meta["class_names"])
                raise ValueError(f"it names {n} classes for model outputs of shape {outputs}")
    except PluginError as err:  # the user's code was not handed over (--plugin FILE), or another version was
        err.where = f"{checkpoint.path}: {err.where}" if err.where else str(checkpoint.path)
        raise
    except METADATA_ERRORS as err:
        raise _incomplete(checkpoint.path, err) from None
    expected = {f"model.{name}": (t.shape, t.dtype) for name, t in model.state_tensors().items()}
    check_tensors_match({f"model.{k}": v for k, v in checkpoint.section("model").items()}, expected, checkpoint.path)
    model.load_state_tensors(checkpoint.weights(weights))
    used = "ema" if checkpoint.section("ema") and weights != "raw" else "raw"
    return Trained(model, loss, config, data_meta, checkpoint.path, epoch, dtype, used)


# Keys of a built-in dataset that a file of the user's does not take (they would be refused with it).
_BUILTIN_ONLY = ("dataset", "n_samples", "noise", "classes", "length", "digits")


def data_config_with(config, overrides: list[str], whole_file: bool = False, text: bool = False):
    """The training data section with `--data KEY=VALUE` changes (e.g. path=other.csv).

    A new `path` replaces a built-in dataset (dataset: null is implied) and is read as the model's kind of
    data: text for a language model (`text`), rows otherwise; with `whole_file`, nothing of the new file is
    held out (validation_split 0) and no test file is kept, unless those keys are given too.
    """
    from backprop_cli.config.load import parse_override
    from backprop_cli.config.schema import DataConfig
    from backprop_cli.config.validation import validate

    data = config.data.model_dump(mode="json")
    given = {}
    for item in overrides:
        key_path, value = parse_override(item)
        given[".".join(map(str, key_path))] = value
    _same_kind(given, text)
    if given.get("dataset") is not None and "path" not in given:  # a built-in replaces the file, as a file does it
        data.update(path=None, format="auto", test_path=None)
    if "path" in given:
        data.update({key: None for key in _BUILTIN_ONLY if key not in given})
        data["format"] = "text" if text else "auto"
        if whole_file:  # nothing held out of it: no validation part, no test file, no cross-validation fold; a text
            # is read in consecutive windows (stride = context), so that each of its characters is scored once
            held_out = (
                ("validation_split", 0.0),
                ("test_path", None),
                ("folds", None),
                ("fold", None),
                ("stride", None),
            )
            data.update({k: v for k, v in held_out if k not in given})
    data.update(given)
    return validate(DataConfig, data, prefix="data", where=lambda path: "--data")


def _same_kind(given: dict, text: bool) -> None:
    """`--data format=...` or `dataset=...` may not give a language model rows, or a rows model text."""
    from backprop_cli.data.text import TEXT_DATASETS

    asked = {"format": given.get("format"), "dataset": given.get("dataset")}
    reads_text = {"format": asked["format"] == "text", "dataset": asked["dataset"] in TEXT_DATASETS}
    for key, value in asked.items():
        if value is not None and reads_text[key] != text:
            model, other = ("a language model, trained on text", "rows") if text else ("trained on rows", "text")
            raise DataError(
                f"the model is {model}: {key}={value} would give it {other}",
                where="--data",
                fix=f"drop {key}: give path=FILE, which is read as the model's kind of data",
            )


def check_predicts_rows(trained: Trained) -> None:
    """predict reads feature rows; a language model reads text, through `generate` and `eval`."""
    if is_text_model(trained.data_meta):
        raise DataError(
            "is a language model (trained on text): predict reads rows of features",
            where=str(trained.path),
            fix="continue a text with `backprop generate RUN --prompt TEXT`, or score a text file with "
            "`backprop eval RUN --data path=FILE`",
        )


def _new_file(overrides: list[str]) -> bool:
    from backprop_cli.config.load import parse_override

    return any(parse_override(item)[0] == ("path",) for item in overrides)


def evaluate_split(trained: Trained, split: str | None = None, data_overrides: list[str] | None = None) -> dict:
    """Loss and accuracy with per-class figures (classification), or MSE/MAE/R² in original units."""
    from backprop_cli.data import load_data

    config = trained.config
    whole_file = split is None and _new_file(data_overrides or [])  # a file given to eval is scored whole
    data_cfg = data_config_with(config, data_overrides or [], whole_file, is_text_model(trained.data_meta))
    data = load_data(data_cfg, config.seed, trained.dtype, meta=trained.data_meta)
    split = split or next(s for s in SPLITS if _split_arrays(data, s)[0] is not None)
    x, y = _split_arrays(data, split)
    whole = "the whole text of" if is_text_model(trained.data_meta) else "all rows of"
    label = f"{whole} {data_cfg.path}" if whole_file and split == "train" else split
    if x is None:
        available = [s for s in SPLITS if _split_arrays(data, s)[0] is not None]
        raise DataError(
            f"the data has no {split} split", where=data.source, fix=f"choose --split {' or '.join(available)}"
        )
    pred = predict_raw(trained.model, x)
    result = {
        "checkpoint": str(trained.path),
        "epoch": trained.epoch,
        "weights": trained.weights,
        "split": "all" if label != split else split,
        "scored": label,
        "n": int(len(x)),
        "loss": mean_loss(trained.loss, pred, y),
    }
    if is_text_model(trained.data_meta):  # a language model: per-character figures, exact match on sums
        from backprop_cli.lm import language_report

        result.update(language_report(result["loss"]))
        result["accuracy"] = float(np.mean(predicted_classes(pred) == y))  # of the next character
        result["n_characters"] = int(y.size)
        if trained.data_meta["text"].get("kind") == "additions" and split == "test":
            result.update(_additions_exact_match(trained, data_cfg))
    elif trained.classification:
        result.update(classification_report(y, predicted_classes(pred), len(trained.data_meta["class_names"])))
        result["class_names"] = trained.data_meta["class_names"]
    else:
        if data.target_scaler is not None:  # the loss is the trained one; mse/mae/r2 below are in the data's units
            result["loss_of"] = "standardized targets"
        result.update(
            regression_report(
                _original_units(data.target_scaler, y), _original_units(data.target_scaler, trained.loss.link(pred))
            )
        )
    return result


def _additions_exact_match(trained: Trained, data_cfg) -> dict:
    """Exact match of the greedy answers to the test problems, which training never saw."""
    from backprop_cli.data.additions import split_problems
    from backprop_cli.lm import exact_match

    _, (a, b) = split_problems(data_cfg.digits or 2, data_cfg.n_samples, trained.config.seed)
    return exact_match(trained, a, b)


def _split_arrays(data, split: str):
    return {"train": (data.x_train, data.y_train), "val": (data.x_val, data.y_val), "test": (data.x_test, data.y_test)}[
        split
    ]


def _original_units(target_scaler, y: np.ndarray) -> np.ndarray:
    return y if target_scaler is None else target_scaler.inverse_transform(y)


def predict_rows(trained: Trained, x_raw: np.ndarray, columns: list[str] | None, source: str, proba: bool) -> dict:
    """Predictions for raw feature rows: labels (or class probabilities), or values in original units."""
    from backprop_cli.data import prepare_features
    from backprop_cli.data.meta import scalers_of

    check_predicts_rows(trained)
    x = prepare_features(x_raw, trained.data_meta, trained.dtype, columns=columns, source=source)
    out = trained.loss.link(predict_raw(trained.model, x))
    if trained.classification:
        names = [str(n) for n in trained.data_meta["class_names"]]
        labels = [names[i] for i in np.argmax(out, axis=1)]  # link gives (N, K) probabilities, K >= 2
        return {"labels": labels, "probabilities": out if proba else None, "class_names": names}
    _, target_scaler = scalers_of(trained.data_meta)
    values = _original_units(target_scaler, out)
    names = trained.data_meta.get("target_names") or [f"y{i}" for i in range(values.shape[1])]
    return {"values": values, "target_names": names}
