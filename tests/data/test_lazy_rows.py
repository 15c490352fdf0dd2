"""Feature arrays bigger than memory: read by index from windows of the file, never whole; the same run as
the array read whole, bit for bit, resumable; and a file larger than the address space still trains."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib import format as npformat

from backprop_cli.data.rowfile import LAZY_ENV, LazyRows, npy_rows, npz_member_rows
from tests.reliability.helpers import (
    assert_same_run,
    backprop,
    environment,
    kill_at,
    limit_memory,
    only_run,
    resume_here,
    train,
    train_here,
)

CONFIG = """seed: 0
data: {{path: {path}{target}, validation_split: 0.1}}
model: {{layers: [{{type: dense, units: 8, activation: tanh}}, {{type: dense, units: 3}}]}}
optimizer: {{type: sgd, lr: 0.1}}
training: {{epochs: 3, batch_size: 32}}
"""
LAZY = environment(**{LAZY_ENV: "1000"})  # every feature array above 1000 bytes is read by index


@pytest.fixture(scope="module")
def arrays(tmp_path_factory):
    base = tmp_path_factory.mktemp("arrays")
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(700, 5)) * [1, 10, 100, 0.1, 3] + [0, 5, -50, 1, 0]).astype(np.float32)
    y = np.argmax(x[:, :3] * [1, 0.1, 0.01], axis=1)
    np.save(base / "x.npy", x)
    np.save(base / "y.npy", y)
    np.savez(base / "d.npz", x=x, y=y)
    (base / "npy.yaml").write_text(CONFIG.format(path="x.npy", target=", target: y.npy"))
    (base / "npz.yaml").write_text(CONFIG.format(path="d.npz", target=""))
    return base


def test_rows_read_by_index_are_the_rows_of_the_array_in_the_asked_order(arrays):
    x = np.load(arrays / "x.npy")
    idx = np.array([699, 0, 5, 4, 6, 350, 5])
    for file in (npy_rows(arrays / "x.npy", "x.npy"), npz_member_rows(arrays / "d.npz", "d.npz", "x")):
        np.testing.assert_array_equal(file.read(idx), x[idx])
        rows = LazyRows(file, (5,)).subset(np.arange(100, 700))
        np.testing.assert_array_equal(rows[10:20], x[110:120])
        np.testing.assert_array_equal(np.concatenate([c for _, c in rows.chunks()]), x[100:])


@pytest.mark.parametrize("kind", ["npy", "npz"])
def test_a_run_reading_rows_by_index_is_bit_identical_to_one_reading_the_array_whole(arrays, kind):
    whole = train_here(arrays / f"{kind}.yaml", arrays / f"whole-{kind}")
    lazy = train_here(arrays / f"{kind}.yaml", arrays / f"lazy-{kind}", env=LAZY)
    assert whole.returncode == 0 and lazy.returncode == 0, whole.stderr + lazy.stderr
    assert_same_run(only_run(arrays / f"whole-{kind}"), only_run(arrays / f"lazy-{kind}"))


def test_a_run_reading_rows_by_index_resumes_bit_identical_after_a_kill(arrays):
    killed = train(
        arrays / "npy.yaml", arrays / "killed", env={**LAZY, **kill_at("half_written", "last.safetensors", 1)}
    )
    assert killed.returncode == -9, killed.stderr
    run = only_run(arrays / "killed")
    resumed = resume_here(run, env=LAZY)
    assert resumed.returncode == 0, resumed.stderr
    reference = arrays / "reference"
    assert train_here(arrays / "npy.yaml", reference, env=LAZY).returncode == 0
    assert_same_run(only_run(reference), run)


def test_a_sparse_npy_larger_than_the_address_space_trains_an_epoch(tmp_path):
    # 348 MB of float32 zeros (holes in a sparse file) under a 320 MiB cap, of which the process itself
    # (Python, NumPy, the CLI's modules) maps about 260 MiB before any data is read
    limit, rows, width = 320 * 2**20, 340_000, 256
    with open(tmp_path / "big.npy", "wb") as fp:
        npformat.write_array_header_1_0(fp, {"descr": "<f4", "fortran_order": False, "shape": (rows, width)})
        fp.truncate(fp.tell() + rows * width * 4)
    assert (tmp_path / "big.npy").stat().st_size > limit
    np.save(tmp_path / "y.npy", np.arange(rows) % 2)
    (tmp_path / "big.yaml").write_text(
        "data: {path: big.npy, target: y.npy, validation_split: 0, scale: none}\n"
        "model: {layers: [{type: dense, units: 2}]}\ntraining: {epochs: 1, batch_size: 4096}\n"
    )
    result = backprop(
        "train", tmp_path / "big.yaml", "--runs-dir", tmp_path / "runs", "--threads", "1", "--quiet",
        env=environment(**{LAZY_ENV: str(64 * 2**20)}), preexec_fn=limit_memory(limit), timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert (only_run(tmp_path / "runs") / "metrics.jsonl").read_text().count("\n") == 1
