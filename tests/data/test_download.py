"""Downloads against a real HTTP server on 127.0.0.1 serving copies of the MNIST slice (and the full files
when present): the slice is checked against its own checksums, with the same fetching code."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from backprop_cli.data import download_dataset, ensure_downloaded, load_data
from backprop_cli.data.builtin import DATASETS
from backprop_cli.data.download import fetch_all, fetch_missing
from backprop_cli.data.mnist import load_mnist
from backprop_cli.errors import DataError, RunError
from tests.datafiles import SLICE_COUNTS, SLICE_FILES, require_full_mnist

from .helpers import LABELS, SLICE_MNIST, data_cfg, write_idx

# MNIST's entry with the slice's checksums: the real fetch, verify and rename code, on files that ship
SLICE_ENTRY = dataclasses.replace(DATASETS["mnist"], files=SLICE_FILES)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty data directory, made the one the library uses."""
    monkeypatch.setenv("BACKPROP_DATA_DIR", str(tmp_path))
    return tmp_path


def all_but_labels(data_dir: Path) -> Path:
    """The data dir holding three of the four files: only the small labels file is left to fetch."""
    target = data_dir / "mnist"
    target.mkdir()
    for f in SLICE_MNIST.iterdir():
        if f.name != LABELS:
            shutil.copy(f, target / f.name)
    return target


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_missing_files_are_downloaded_verified_and_loaded(mirror, data_dir, monkeypatch):
    monkeypatch.setenv("BACKPROP_DATA_MIRROR", mirror + "/ok/")
    seen = []
    fetched = fetch_missing(SLICE_ENTRY, data_dir / "mnist", lambda name, done, total: seen.append((name, done, total)))
    assert sorted(p.name for p in fetched) == sorted(f.name for f in SLICE_MNIST.iterdir())
    for f in SLICE_MNIST.iterdir():
        assert (data_dir / "mnist" / f.name).read_bytes() == f.read_bytes()
    assert {name for name, _, _ in seen} == {f.name for f in SLICE_MNIST.iterdir()}
    assert ("t10k-labels-idx1-ubyte.gz", 129, 129) in seen
    assert leftovers(data_dir / "mnist") == []
    raw = load_mnist(data_cfg(dataset="mnist"), 0)
    assert len(raw.x_train) == SLICE_COUNTS["train"] and len(raw.x_test) == SLICE_COUNTS["test"]


def test_training_downloads_the_full_mnist_with_the_canonical_checksums(mirror, data_dir, monkeypatch):
    full = require_full_mnist() / "mnist"
    monkeypatch.setenv("BACKPROP_DATA_MIRROR", mirror + "/full/")
    ds = load_data(data_cfg(dataset="mnist", validation_split=0.0), 0, download=True)
    assert len(ds.x_train) == 60000 and len(ds.x_test) == 10000
    for f in full.iterdir():
        assert (data_dir / "mnist" / f.name).read_bytes() == f.read_bytes()
    assert leftovers(data_dir / "mnist") == []


def test_present_files_are_not_fetched_again(mirror, data_dir, monkeypatch):
    all_but_labels(data_dir)
    monkeypatch.setenv("BACKPROP_DATA_MIRROR", mirror + "/ok/")
    assert [p.name for p in fetch_missing(SLICE_ENTRY, data_dir / "mnist")] == [LABELS]
    assert fetch_missing(SLICE_ENTRY, data_dir / "mnist") == []


def test_a_checksum_mismatch_is_a_run_error_and_leaves_nothing_under_the_final_name(mirror, data_dir, monkeypatch):
    target = all_but_labels(data_dir)
    monkeypatch.setenv("BACKPROP_DATA_MIRROR", mirror + "/bad/")
    with pytest.raises(RunError, match="checksum mismatch: sha256 of the gunzipped content is [0-9a-f]{64}") as err:
        fetch_missing(SLICE_ENTRY, target)
    assert err.value.exit_code == 1 and "the file was not kept" in str(err.value)
    assert not (target / LABELS).exists() and leftovers(target) == []


@pytest.mark.parametrize("status, reason", [("500", "HTTP 500"), ("404", "HTTP 404")])
def test_a_server_error_is_a_run_error_naming_the_url_and_status(mirror, data_dir, monkeypatch, status, reason):
    target = all_but_labels(data_dir)
    monkeypatch.setenv("BACKPROP_DATA_MIRROR", f"{mirror}/{status}/")
    with pytest.raises(RunError, match=reason) as err:
        ensure_downloaded("mnist", data_dir)
    assert f"{mirror}/{status}/mnist/{LABELS}" in str(err.value)
    assert not (target / LABELS).exists() and leftovers(target) == []


def test_an_interrupted_transfer_is_a_run_error_and_leaves_no_partial_file(mirror, data_dir, monkeypatch):
    target = all_but_labels(data_dir)
    monkeypatch.setenv("BACKPROP_DATA_MIRROR", mirror + "/cut/")
    with pytest.raises(RunError, match="interrupted after 137 of 275 bytes"):
        fetch_missing(SLICE_ENTRY, target)
    assert not (target / LABELS).exists() and leftovers(target) == []


def test_offline_the_error_lists_the_missing_files_where_to_put_them_and_the_command(data_dir, monkeypatch):
    target = all_but_labels(data_dir)
    monkeypatch.setenv("BACKPROP_DATA_MIRROR", "http://127.0.0.1:9/")  # discard port: nothing listens
    with pytest.raises(RunError) as err:
        ensure_downloaded("mnist", data_dir)
    text = str(err.value)
    assert "no connection" in text and f"missing {LABELS} in {target}" in text
    # running the same command again would not help: where the files go, or BACKPROP_DATA_DIR
    assert "copy the files from a machine that has them" in text and f"into {target}" in text
    assert f"BACKPROP_DATA_DIR (now {data_dir})" in text and "holding mnist/" in text


def test_download_replaces_a_present_file_that_fails_its_checksum(mirror, data_dir, monkeypatch):
    target = all_but_labels(data_dir)
    write_idx(target / "t10k-labels-idx1-ubyte.gz", np.zeros(200, np.uint8))  # corrupt the present copy
    monkeypatch.setenv("BACKPROP_DATA_MIRROR", mirror + "/ok/")
    fetched = fetch_all(SLICE_ENTRY, target)
    assert sorted(p.name for p in fetched) == sorted([LABELS, "t10k-labels-idx1-ubyte.gz"])
    assert (target / "t10k-labels-idx1-ubyte.gz").read_bytes() == (
        SLICE_MNIST / "t10k-labels-idx1-ubyte.gz"
    ).read_bytes()


def test_a_stale_temp_file_of_a_dead_download_is_removed(mirror, data_dir, monkeypatch):
    target = all_but_labels(data_dir)
    (target / f".{LABELS}.tmp-999999999-abcd").write_bytes(b"half")
    monkeypatch.setenv("BACKPROP_DATA_MIRROR", mirror + "/ok/")
    fetch_missing(SLICE_ENTRY, target)
    assert leftovers(target) == []


def test_a_dataset_that_is_not_downloadable_says_why():
    with pytest.raises(DataError, match="iris is bundled with backprop: there is nothing to download"):
        download_dataset("iris")
    with pytest.raises(DataError, match="did you mean 'mnist'"):
        download_dataset("mnsit")
