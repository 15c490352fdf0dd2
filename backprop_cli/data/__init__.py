"""Data: built-in datasets, the user's files, downloads with checksums, scaling, splits and batching.

Public names are imported lazily, so that `backprop predict` pays only for what it uses.

    load_data(cfg.data, seed, dtype, *, meta=None, download=False, progress=None) -> Dataset
    dataset_meta(ds) -> dict;  prepare_features(x_raw, meta, dtype, columns=, source=) -> x
    read_feature_rows(path_or_bytes, fmt=None, source=None, wanted=None) -> FeatureRows
    BatchLoader(x, y, batch_size);  Scaler;  DATASETS
    ensure_downloaded(name, data_dir, progress), download_dataset(...), resolve_data_dir(config_dir)
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "load_data": "loading",
    "load_raw": "loading",
    "Dataset": "dataset",
    "RawData": "dataset",
    "dataset_meta": "meta",
    "prepare_features": "meta",
    "read_feature_rows": "features_io",
    "FeatureRows": "features_io",
    "BatchLoader": "batching",
    "Scaler": "scaling",
    "split_indices": "splits",
    "DATASETS": "builtin",
    "ensure_downloaded": "download",
    "download_dataset": "download",
    "resolve_data_dir": "paths",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
