"""MNIST and Fashion-MNIST from the canonical IDX files in `<data dir>/<name>/`.

Checksums, and what vouches for them:
- MNIST: SHA-256 of each file's gunzipped content, computed here from copies whose content matches
  the MD5 sums of the uncompressed files published with the dataset (6bbc9ace..., a25bea73...,
  2646ac64..., 27ae3e4e...). Mirrors recompress the files, so a digest of the .gz would reject
  good copies.
- Fashion-MNIST: the MD5 of each .gz file as listed in the zalandoresearch/fashion-mnist README;
  no copy was at hand to compute a SHA-256 from, and MD5 is what its publishers vouch for.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from backprop_cli.data.dataset import RawData
from backprop_cli.data.idx import read_idx
from backprop_cli.data.paths import resolve_data_dir
from backprop_cli.data.remote import Checksum, RemoteFile
from backprop_cli.errors import DataError

_MNIST_ORIGIN = "sha256 of the gunzipped file, whose md5 equals the published one of the uncompressed file"
_FASHION_ORIGIN = "md5 of the .gz file, from the zalandoresearch/fashion-mnist README"

MNIST_FILES = (
    RemoteFile("train-images-idx3-ubyte.gz", Checksum(
        "sha256", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", "content", _MNIST_ORIGIN)),
    RemoteFile("train-labels-idx1-ubyte.gz", Checksum(
        "sha256", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", "content", _MNIST_ORIGIN)),
    RemoteFile("t10k-images-idx3-ubyte.gz", Checksum(
        "sha256", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", "content", _MNIST_ORIGIN)),
    RemoteFile("t10k-labels-idx1-ubyte.gz", Checksum(
        "sha256", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", "content", _MNIST_ORIGIN)),
)  # fmt: skip
FASHION_FILES = tuple(
    RemoteFile(name, Checksum("md5", md5, "file", _FASHION_ORIGIN))
    for name, md5 in [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
)
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
FASHION_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
SPLITS = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
          "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}  # fmt: skip


def find_file(directory: Path, name: str) -> Path | None:
    """`name`, or the same file already gunzipped (without `.gz`)."""
    for candidate in (directory / name, directory / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def missing_files(directory: Path, files: tuple[RemoteFile, ...]) -> list[str]:
    return [f.name for f in files if find_file(directory, f.name) is None]


def missing_message(name: str, directory: Path, missing: list[str]) -> tuple[str, str]:
    """(what, fix) for files that are not there: which, where to put them, and the command."""
    what = f"{name}: missing {', '.join(missing)} in {directory}"
    env = "" if os.environ.get("BACKPROP_DATA_DIR") else " (or set BACKPROP_DATA_DIR to a directory holding them)"
    fix = f"run `backprop data download {name}`, or copy the files into {directory}{env}"
    return what, fix


def load_mnist(cfg, seed: int) -> RawData:
    return _load_idx("mnist", MNIST_FILES, [str(d) for d in range(10)], cfg)


def load_fashion_mnist(cfg, seed: int) -> RawData:
    return _load_idx("fashion_mnist", FASHION_FILES, FASHION_CLASSES, cfg)


def _load_idx(name: str, files: tuple[RemoteFile, ...], class_names: list[str], cfg) -> RawData:
    directory = resolve_data_dir(cfg.data_dir) / name
    missing = missing_files(directory, files)
    if missing:
        what, fix = missing_message(name, directory, missing)
        raise DataError(what, fix=fix)
    x_train, y_train = _split(directory, "train", len(class_names))
    x_test, y_test = _split(directory, "test", len(class_names))
    return RawData(
        x_train,
        y_train,
        "classification",
        name,
        x_test=x_test,
        y_test=y_test,
        class_names=class_names,
        base_scale=255.0,
    )


def _split(directory: Path, split: str, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (N, 1, 28, 28) and int64 labels (N,), their counts and label range checked."""
    image_path, label_path = (find_file(directory, f) for f in SPLITS[split])
    images = read_idx(image_path, ndim=3)
    labels = read_idx(label_path, ndim=1)
    if len(images) != len(labels):
        raise DataError(
            f"{image_path.name} has {len(images)} images but {label_path.name} has {len(labels)} labels",
            where=str(directory),
            fix="the files do not belong together; download them again",
        )
    bad = np.flatnonzero(labels >= n_classes)
    if len(bad):
        raise DataError(
            f"label {labels[bad[0]]} at index {bad[0]} is out of range 0..{n_classes - 1}",
            where=str(label_path),
            fix="the file is corrupted; download it again",
        )
    return images[:, None], labels.astype(np.int64)  # (N, 28, 28) -> (N, 1, 28, 28)
