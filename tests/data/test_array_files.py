""".npz and .npy files: the layouts they may have, and hostile ones refused before anything is allocated."""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

from backprop_cli.data import load_data
from backprop_cli.errors import DataError

from .helpers import data_cfg


def load(path, **fields):
    return load_data(data_cfg(path=str(path), validation_split=0.0, **fields), seed=0, dtype=np.float32)


def error_of(path, **fields) -> str:
    with pytest.raises(DataError) as err:
        load(path, **fields)
    return str(err.value)


class CreatesAFileWhenUnpickled:
    """Unpickling this calls open(marker, "w"): if the marker exists, something was unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def lying_npy(shape=(100_000_000,)) -> bytes:
    """A small .npy whose header declares `shape` of float32 (400 MB by default)."""
    data = npy_bytes(np.zeros(1000, np.float32))
    return data.replace(b"(1000,)", repr(shape).encode().ljust(len(b"(1000,)")), 1)


def test_npz_with_train_and_test_arrays_gives_both_splits(tmp_path, rng):
    x, y = rng.standard_normal((40, 3)), np.arange(40) % 2
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y, x_test=x[:5], y_test=y[:5])
    ds = load(tmp_path / "d.npz", scale="none")
    assert ds.x_train.shape == (40, 3) and ds.x_test.shape == (5, 3) and list(ds.y_test) == [0, 1, 0, 1, 0]
    np.testing.assert_allclose(ds.x_train, x.astype(np.float32))


def test_npz_of_uint8_images_arrives_as_n_1_h_w_in_0_1_without_scaling(tmp_path):
    x = np.zeros((6, 5, 5), np.uint8)
    x[:, 2, 2] = 255
    np.savez_compressed(tmp_path / "img.npz", x=x, y=np.array(["a", "b"] * 3))
    ds = load(tmp_path / "img.npz", scale="none")
    assert ds.input_shape == (1, 5, 5) and ds.x_train.max() == 1.0 and ds.class_names == ["a", "b"]


def test_an_npy_pair_reads_x_from_path_and_y_from_target(tmp_path, rng):
    np.save(tmp_path / "x.npy", rng.standard_normal((30, 2)))
    np.save(tmp_path / "y.npy", rng.standard_normal((30, 2)))
    ds = load(tmp_path / "x.npy", target=str(tmp_path / "y.npy"))
    assert ds.task == "regression" and ds.y_train.shape == (30, 2) and ds.target_scaler is not None


def test_an_npy_without_its_labels_file_says_how_to_give_it(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 2)))
    assert "give the labels file as data.target" in error_of(tmp_path / "x.npy")


def test_an_npz_without_the_expected_arrays_lists_what_it_holds(tmp_path):
    np.savez(tmp_path / "d.npz", features=np.zeros((3, 2)), labels=np.zeros(3))
    assert "holds the arrays features, labels; expected x_train and y_train" in error_of(tmp_path / "d.npz")


def test_an_npz_with_x_but_no_y_names_the_missing_array(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((3, 2)), why=np.zeros(3))
    assert "`y` is missing" in error_of(tmp_path / "d.npz")


def test_x_and_y_of_different_lengths_are_refused(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((5, 2)), y=np.arange(4) % 2)
    assert "x has 5 rows but y has 4" in error_of(tmp_path / "d.npz")


def test_nan_in_array_features_names_the_row_and_feature(tmp_path):
    x = np.ones((4, 3))
    x[2, 1] = np.nan
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(4) % 2)
    assert "index 2, feature 1: value nan is not a finite number" in error_of(tmp_path / "d.npz")


def test_a_pickled_npy_is_refused_and_its_payload_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    np.save(tmp_path / "evil.npy", np.array([CreatesAFileWhenUnpickled(marker)], dtype=object), allow_pickle=True)
    np.save(tmp_path / "y.npy", np.zeros(1))
    text = error_of(tmp_path / "evil.npy", target=str(tmp_path / "y.npy"))
    assert "would need unpickling" in text and "pickled data is never loaded" in text
    assert not marker.exists()


def test_a_pickled_npz_member_is_refused_and_its_payload_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    evil = np.array([CreatesAFileWhenUnpickled(marker)] * 2, dtype=object)
    np.savez(tmp_path / "evil.npz", x=np.zeros((2, 1)), y=evil)
    assert "evil.npz[y.npy]: holds Python objects" in error_of(tmp_path / "evil.npz")
    assert not marker.exists()


def test_a_raw_pickle_named_npy_is_not_an_npy_array(tmp_path):
    import pickle

    marker = tmp_path / "pwned"
    (tmp_path / "evil.npy").write_bytes(pickle.dumps(CreatesAFileWhenUnpickled(marker)))
    assert "not a valid .npy array" in error_of(tmp_path / "evil.npy", target=str(tmp_path / "evil.npy"))
    assert not marker.exists()


def refused_quickly_and_small(path, **fields) -> str:
    tracemalloc.start()
    start = time.process_time()  # CPU seconds: a busy host stretches wall time only
    try:
        text = error_of(path, **fields)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert time.process_time() - start < 1.0 and peak < 20 * 2**20
    return text


def test_an_npy_header_declaring_400_mb_is_refused_before_allocating(tmp_path):
    data = lying_npy()
    (tmp_path / "big.npy").write_bytes(data)
    np.save(tmp_path / "y.npy", np.zeros(3))
    text = refused_quickly_and_small(tmp_path / "big.npy", target=str(tmp_path / "y.npy"))
    assert "header declares shape (100000000,) of float32" in text and f"the file holds {len(data)} bytes" in text


def test_an_npy_declaring_10_to_the_11_rows_is_refused_before_allocating(tmp_path):
    (tmp_path / "huge.npy").write_bytes(lying_npy((10**11, 1)))
    np.save(tmp_path / "y.npy", np.zeros(3))
    assert "header declares shape" in refused_quickly_and_small(tmp_path / "huge.npy", target=str(tmp_path / "y.npy"))


def test_an_npz_member_whose_header_declares_400_mb_is_refused_before_allocating(tmp_path):
    with zipfile.ZipFile(tmp_path / "big.npz", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.npy", lying_npy())
        zf.writestr("y.npy", npy_bytes(np.zeros(1000)))
    text = refused_quickly_and_small(tmp_path / "big.npz")
    assert "big.npz[x.npy]: header declares shape (100000000,)" in text


def test_an_npz_whose_zip_entry_claims_more_than_deflate_can_expand_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.npy", npy_bytes(np.zeros(1000, np.float32)))
    data = bytearray((tmp_path / "bomb.npz").read_bytes())
    # patch the central directory's uncompressed size (offset 24 of the entry) to 400 MB
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (400 * 2**20).to_bytes(4, "little")
    (tmp_path / "bomb.npz").write_bytes(bytes(data))
    assert "more than compression allows" in refused_quickly_and_small(tmp_path / "bomb.npz")


def test_a_truncated_npy_is_refused_with_both_sizes(tmp_path):
    data = npy_bytes(np.zeros((10, 2)))
    (tmp_path / "x.npy").write_bytes(data[:-8])
    np.save(tmp_path / "y.npy", np.zeros(10))
    text = error_of(tmp_path / "x.npy", target=str(tmp_path / "y.npy"))
    assert f"({len(data)} bytes with the header) but the file holds {len(data) - 8} bytes" in text


def test_a_file_that_is_not_a_zip_is_not_an_npz(tmp_path):
    (tmp_path / "d.npz").write_bytes(b"hello")
    assert "not a valid .npz (zip) file" in error_of(tmp_path / "d.npz")


def test_data_features_with_an_array_file_is_refused(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 2)), y=np.arange(4) % 2)
    with pytest.raises(DataError) as err:
        load(tmp_path / "d.npz", features=["a"])
    assert err.value.where == "data.features"


def test_data_target_with_an_npz_is_refused(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 2)), y=np.arange(4) % 2)
    with pytest.raises(DataError) as err:
        load(tmp_path / "d.npz", target="label")
    assert err.value.where == "data.target"
