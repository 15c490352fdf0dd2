"""The user's data through `backprop train`, `eval`, `predict` and `data
download`: exit 2 naming the file, row and column (or the counts), no traceback, no run directory
left behind; a download that fails its checksum is exit 1 with nothing under the final name. Then
properties: random bytes as a CSV, as predict's stdin and as an IDX file only raise DataError.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import struct
import tempfile
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.config.schema import DataConfig
from backprop_cli.data import load_data, read_feature_rows
from backprop_cli.data.idx import read_idx
from backprop_cli.errors import DataError

from .helpers import assert_user_error, backprop, environment, in_process, run_all, train

ROWS = "1,2,0\n2,3,1\n3,4,0\n4,5,1\n5,6,0\n6,7,1\n"


def config_for(name: str, split: float = 0.0, units: int = 2) -> str:
    return (
        f"name: {name}\nseed: 0\ndata: {{path: {name}.csv, target: label, validation_split: {split}}}\n"
        f"model:\n  layers:\n    - {{type: dense, units: 4, activation: tanh}}\n    - {{type: dense, units: {units}}}\n"
        "optimizer: {type: sgd, lr: 0.1}\ntraining: {epochs: 1, batch_size: 4}\n"
    )


# name -> (CSV text, validation split, last layer's units, what stderr must say)
CSVS = {
    "nan": (
        "f1,f2,label\n1,2,0\n2,nan,1\n" + ROWS,
        0.0,
        2,
        "nan.csv: line 3, column `f2`: value `nan` is not a finite",
    ),
    "inf": ("f1,f2,label\n1,2,0\n2,-inf,1\n" + ROWS, 0.0, 2, "line 3, column `f2`: value `-inf` is not a finite"),
    "empty-cell": ("f1,f2,label\n1,2,0\n2,,1\n" + ROWS, 0.0, 2, "line 3, column `f2`: the value is empty"),
    "abc": ("f1,f2,label\n1,2,0\n2,abc,1\n" + ROWS, 0.0, 2, "line 3, column `f2`: value `abc` is not a number"),
    "ragged": ("f1,f2,label\n1,2,0\n2,1\n" + ROWS, 0.0, 2, "ragged.csv: line 3 has 2 fields, the header has 3"),
    "no-target": (
        "f1,f2,lable\n" + ROWS,
        0.0,
        2,
        "has no column `label` (data.target); its columns: f1, f2, lable; did you mean 'lable'?",
    ),
    "empty": ("", 0.0, 2, "empty.csv: the file is empty"),
    "header-only": ("f1,f2,label\n", 0.0, 2, "header-only.csv: has a header but no data rows"),
    "no-training-rows": ("f1,f2,label\n1,2,0\n2,3,1\n", 0.9, 2, "validation_split 0.9 of 2 rows leaves no training"),
    "one-class": ("f1,f2,label\n1,2,0\n2,3,0\n3,3,0\n4,4,0\n", 0.0, 2, "the target `label` has a single class (0)"),
    "class-mismatch": (
        "f1,f2,label\n1,2,0\n2,3,1\n3,4,2\n4,5,0\n5,6,1\n6,7,2\n",
        0.0,
        5,
        "model.layers.1.units: the data has 3 classes but the last layer has 5 units; set `model.layers.1.units=3`",
    ),
}


AS_PROCESSES = ("nan", "class-mismatch")  # the whole table also runs in-process


@pytest.fixture(scope="module")
def csv_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("csv")
    for name, (text, split, units, _) in CSVS.items():
        (base / f"{name}.csv").write_text(text)
        (base / f"{name}.yaml").write_text(config_for(name, split, units))
    return base


@pytest.fixture(scope="module")
def csv_outcomes(csv_dir):
    results = run_all([("train", f"{name}.yaml", "--runs-dir", "runs") for name in AS_PROCESSES], cwd=csv_dir)
    return dict(zip(AS_PROCESSES, results))


@pytest.mark.parametrize("name", CSVS)
def test_bad_training_data_is_refused_with_exit_2_naming_where(csv_dir, name):
    result = in_process("train", f"{name}.yaml", "--runs-dir", "runs", cwd=csv_dir)
    assert_user_error(result, 2, CSVS[name][3])
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name", AS_PROCESSES)
def test_bad_training_data_is_refused_by_a_real_process(csv_outcomes, name):
    assert_user_error(csv_outcomes[name], 2, CSVS[name][3])


def test_refused_data_leaves_no_run_directory_behind(csv_dir, csv_outcomes):
    assert not (csv_dir / "runs").exists() or list((csv_dir / "runs").iterdir()) == []


# ---- 26: eval and predict with data that does not fit the model -------------------------------------
def test_eval_and_predict_refuse_an_unseen_label_and_a_different_feature_count(reference, tmp_path):
    run = reference("fast")  # spirals: features x0, x1; classes 0, 1, 2
    (tmp_path / "unseen.csv").write_text("x0,x1,label\n0.1,0.2,0\n0.3,0.1,7\n")
    np.save(tmp_path / "three.npy", np.ones((2, 3)))
    (tmp_path / "renamed.csv").write_text("x0,x9\n0.1,0.2\n")
    (tmp_path / "extra.csv").write_text("id,x1,x0,label\n7,0.2,0.1,2\n")
    unseen_csv = f"path={tmp_path / 'unseen.csv'}"
    unseen = in_process("eval", run, "--data", "dataset=null", "--data", unseen_csv, "--data", "target=label")
    renamed = in_process("predict", run, tmp_path / "renamed.csv")
    extra = in_process("predict", run, tmp_path / "extra.csv")
    three = backprop("predict", run, tmp_path / "three.npy")
    assert_user_error(unseen, 2, "unseen.csv: row 2: label `7` is out of range: the classes are 0, 1, 2")
    assert_user_error(three, 2, "the model expects 2 features, ", "three.npy has 3")
    assert_user_error(renamed, 2, "renamed.csv: has no column `x1`, which the model needs")
    assert extra.returncode == 0, extra.stderr  # columns are picked by name: an id and the target may be there
    assert len(extra.stdout.splitlines()) == 1
    stdin = backprop("predict", run, "-", input="0.1,0.2,0.3\n")
    assert_user_error(stdin, 2, "the model expects 2 features, <stdin> has 3")


# ---- 27: corrupt MNIST files, and a download that fails its checksum --------------------------------
def idx_bytes(array: np.ndarray, magic: bytes | None = None, dims=None) -> bytes:
    dims = array.shape if dims is None else dims
    head = (magic or bytes([0, 0, 0x08, len(dims)])) + struct.pack(f">{len(dims)}I", *dims)
    return head + array.astype(">u1").tobytes()


def fake_mnist(directory: Path, n_train: int = 40, n_test: int = 10) -> Path:
    """A small MNIST in the canonical layout: the loader checks structure, not the canonical checksums."""
    rng = np.random.default_rng(0)
    mnist = directory / "mnist"
    mnist.mkdir(parents=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = idx_bytes(rng.integers(0, 256, (n, 28, 28)))
        (mnist / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(images, mtime=0))
        (mnist / f"{split}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.arange(n) % 10), mtime=0))
    return mnist


def gzip_bomb(n_images: int = 200_000) -> bytes:
    """A truthful IDX header over 157 MB of zeros, gzipped to under 1 MB."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
    out = [packer.compress(bytes([0, 0, 0x08, 3]) + struct.pack(">3I", n_images, 28, 28))]
    out += [packer.compress(bytes(28 * 28 * 10_000)) for _ in range(n_images // 10_000)]
    return b"".join(out) + packer.flush()


IMAGES = "train-images-idx3-ubyte.gz"
LABELS = "train-labels-idx1-ubyte.gz"
# name -> (file to damage, how, what stderr must say)
IDX_FAULTS = {
    "truncated gzip": (IMAGES, lambda raw: raw[: len(raw) // 2], "truncated gzip file"),
    "wrong magic": (
        LABELS,
        lambda raw: gzip.compress(b"\x08\x03\x00\x00" + gzip.decompress(raw)[4:]),
        "not an IDX file (magic bytes 08030000)",
    ),
    "payload too short": (
        IMAGES,
        lambda raw: gzip.compress(gzip.decompress(raw)[:-784]),
        "header declares 40 x 28 x 28 items of 1 byte(s)",
    ),
    "gzip bomb": (IMAGES, lambda raw: gzip_bomb(), "times is a gzip bomb"),
    "counts differ": (
        LABELS,
        lambda raw: gzip.compress(idx_bytes(np.arange(39) % 10)),
        "train-images-idx3-ubyte.gz has 40 images but train-labels-idx1-ubyte.gz has 39 labels",
    ),
}


def test_corrupt_mnist_files_are_refused_naming_the_file_and_the_fault(tmp_path):
    config = tmp_path / "mnist.yaml"
    config.write_text(
        "data: {dataset: mnist, validation_split: 0.0}\n"
        "model: {layers: [{type: flatten}, {type: dense, units: 10}]}\ntraining: {epochs: 1}\n"
    )
    good = fake_mnist(tmp_path / "good")  # well-formed: each case below damages one of its files
    jobs = {}
    for name, (filename, damage, _) in IDX_FAULTS.items():
        data_dir = tmp_path / name.replace(" ", "-")
        mnist = fake_mnist(data_dir)
        (mnist / filename).write_bytes(damage((good / filename).read_bytes()))
        jobs[name] = {"BACKPROP_DATA_DIR": str(data_dir)}
    results = {
        name: in_process("train", config, "--runs-dir", tmp_path / "bad-runs", env=env)
        for name, env in jobs.items()
        if name != "truncated gzip"
    }
    results["truncated gzip"] = train(config, tmp_path / "bad-runs", env=environment(**jobs["truncated gzip"]))
    for name, (filename, _, message) in IDX_FAULTS.items():
        assert_user_error(results[name], 2, message)
        assert filename in results[name].stderr or "mnist" in results[name].stderr
    assert not (tmp_path / "bad-runs").exists() or list((tmp_path / "bad-runs").iterdir()) == []


@pytest.fixture
def bad_mirror(tmp_path):
    """A local HTTP server whose mnist/ files are well-formed but not the canonical ones."""
    fake_mnist(tmp_path / "served")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "served"))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_a_download_that_fails_its_checksum_exits_1_and_leaves_nothing_under_the_final_name(bad_mirror, tmp_path):
    env = environment(BACKPROP_DATA_DIR=str(tmp_path / "data"), BACKPROP_DATA_MIRROR=bad_mirror)
    result = backprop("data", "download", "mnist", env=env)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "checksum" in result.stderr.lower()
    leftovers = list((tmp_path / "data").rglob("*-ubyte*")) if (tmp_path / "data").exists() else []
    assert leftovers == []


# ---- properties: random bytes as data files ----------------------------------------------------------
CSV_BYTES = st.lists(
    st.sampled_from(
        [
            b",",
            b"\n",
            b"\r\n",
            b";",
            b"\t",
            b'"',
            b"1",
            b"2.5",
            b"-",
            b"e",
            b"nan",
            b"inf",
            b"label",
            b"x",
            b" ",
            b"\xff",
            b"\xef\xbb\xbf",
            b"\0",
        ]
    )
    | st.binary(max_size=4),
    max_size=60,
).map(b"".join)


@settings(max_examples=150, deadline=None)
@given(CSV_BYTES)
def test_random_bytes_as_a_training_csv_load_or_raise_data_error(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        path.write_bytes(data)
        try:
            load_data(DataConfig(path=str(path), validation_split=0.0), seed=0, dtype=np.float32)
        except DataError:
            pass


@settings(max_examples=150, deadline=None)
@given(CSV_BYTES | st.binary(max_size=200).map(lambda b: b"\x93NUMPY" + b))
def test_random_bytes_on_predicts_stdin_read_or_raise_data_error(data):
    try:
        read_feature_rows(data, wanted=["x0", "x1"])
    except DataError:
        pass


IDX_START = st.sampled_from([b"", b"\0\0\x08\x01", b"\0\0\x08\x03", b"\0\0\x0d\x01", b"\x1f\x8b"])


@settings(max_examples=150, deadline=None)
@given(IDX_START, st.binary(max_size=120), st.booleans(), st.integers(1, 3))
def test_random_bytes_as_an_idx_file_read_or_raise_data_error(start, rest, gz, ndim):
    raw = start + rest
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x-idx.gz"
        path.write_bytes(gzip.compress(raw, mtime=0) if gz else raw)
        try:
            read_idx(path, ndim)
        except DataError:
            pass
