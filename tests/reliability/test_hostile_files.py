"""Checkpoints and data files as attack surface, through `backprop eval`,
`predict` and `train`: exit 2 with one message naming the file, no traceback, payloads never run, and
hostile sizes refused under a 256 MiB address-space limit.

The parser itself is tested byte by byte in tests/runs/test_checkpoint_hostile.py; here each scenario
goes through the CLI, and a property test feeds checkpoints whose checksum is valid but whose
metadata is random to the inference path (config, data meta, model), which must only ever raise
CheckpointError.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop_cli.errors import CheckpointError, DataError
from backprop_cli.inference import load_trained
from backprop_cli.runs.checkpoint import checkpoint_digest, load_checkpoint, save_checkpoint

from .helpers import assert_user_error, backprop, in_process, limit_memory, timed_all

PICKLED = "not a backprop checkpoint (invalid safetensors header); pickled files are never loaded"
PICKLED_DATA = "holds Python objects (dtype object) that would need unpickling; pickled data is never loaded"


class Payload:
    """Unpickling this creates the marker directory: the side effect a malicious file would have."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def header_and_data(path: Path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def assemble(header: dict | bytes, data: bytes, stated: int | None = None) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if stated is None else stated) + raw + data


def resaved(good: Path, change) -> bytes:
    """The good checkpoint with `change(tensors, meta)` applied, saved with a valid checksum."""
    checkpoint = load_checkpoint(good)
    tensors, meta = dict(checkpoint.tensors), dict(checkpoint.meta)
    change(tensors, meta)
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    meta.pop("sha256", None)
    meta["sha256"] = checkpoint_digest(arrays, meta)
    return safetensors.numpy.save(arrays, metadata={"backprop": json.dumps(meta)})


def flip_a_tensor_bit(good: Path) -> bytes:
    raw = bytearray(good.read_bytes())
    raw[-5] ^= 0x10  # inside the last tensor's data
    return bytes(raw)


def _drop(name):
    return lambda tensors, meta: tensors.pop(name)


def _set(name, value):
    return lambda tensors, meta: tensors.__setitem__(name, value(tensors[name]))


def _future(tensors, meta):
    meta["format_version"] = 3


def _two_class_names(tensors, meta):
    meta["data"]["class_names"] = ["0", "1"]  # the model has 3 outputs: predict indexed past the names


def _huge_first_layer(tensors, meta):
    meta["config"]["model"]["layers"][0]["units"] = 10**9  # 4 GB of float32 weights if it were built


# name -> (how to make the file from the good checkpoint, what stderr must say)
CHECKPOINTS = {
    "pickle": (lambda good, tmp: pickle.dumps(Payload(tmp / "PWNED")), PICKLED),
    "empty": (lambda good, tmp: b"", "checkpoint is truncated or corrupted (expected at least 8 bytes, found 0)"),
    "truncated in the header": (lambda good, tmp: good.read_bytes()[:100], "is truncated or corrupted (expected"),
    "truncated in the data": (lambda good, tmp: good.read_bytes()[:-7], "is truncated or corrupted (expected"),
    "trailing bytes": (lambda good, tmp: good.read_bytes() + b"\0" * 10, "is truncated or corrupted (expected"),
    "bit flip": (lambda good, tmp: flip_a_tensor_bit(good), "checksum mismatch in c.safetensors (file corrupted)"),
    "hugging face file": (
        lambda good, tmp: safetensors.numpy.save({"weight": np.zeros((2, 2), np.float32)}, metadata={"format": "pt"}),
        "no backprop metadata: not a backprop checkpoint",
    ),
    "metadata not json": (
        lambda good, tmp: safetensors.numpy.save({"w": np.zeros(2, np.float32)}, metadata={"backprop": "{oops"}),
        "backprop metadata is not valid JSON",
    ),
    "future format": (lambda good, tmp: resaved(good, _future), "written by format 3; this backprop reads ≤ 1"),
    "missing tensor": (lambda good, tmp: resaved(good, _drop("model.2.W")), "model.2.W"),
    "config larger than its weights": (
        lambda good, tmp: resaved(good, _huge_first_layer),
        "its config describes more parameters than the file holds",
    ),
    "extra tensor": (
        lambda good, tmp: resaved(good, lambda t, m: t.__setitem__("model.9.W", np.ones(2, np.float32))),
        "model.9.W",
    ),
    "wrong shape": (
        lambda good, tmp: resaved(good, _set("model.2.W", lambda w: np.zeros((16, 4), w.dtype))),
        "model.2.W is (16, 4) float32 in the checkpoint, the model expects (16, 3) float32",
    ),
    "wrong dtype": (
        lambda good, tmp: resaved(good, _set("model.2.W", lambda w: w.astype(np.float64))),
        "model.2.W is (16, 3) float64 in the checkpoint, the model expects (16, 3) float32",
    ),
    "fewer class names than outputs": (
        lambda good, tmp: resaved(good, _two_class_names),
        "it names 2 classes for model outputs of shape (3,)",
    ),
    "nan weights": (
        lambda good, tmp: resaved(good, _set("model.0.b", lambda b: np.full_like(b, np.nan))),
        "tensor model.0.b holds NaN or inf",
    ),
    "duplicate names": (
        lambda good, tmp: assemble(
            b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
            b'"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}',
            b"\0" * 4,
        ),
        "duplicate name 'a'",
    ),
    "header length 2**63": (lambda good, tmp: assemble(b"{}", b"", stated=2**63), "limit 16777216"),
    "overlapping offsets": (
        lambda good, tmp: assemble(
            {
                "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
            },
            b"\0" * 12,
        ),
        "overlap in the data region",
    ),
    "shape past its offsets": (
        lambda good, tmp: assemble({"a": {"dtype": "F32", "shape": [10**11], "data_offsets": [0, 4]}}, b"\0" * 4),
        "needs 400000000000 bytes",
    ),
}


EXTRA = {"100 MB header": "claims 104857600 bytes (limit 16777216)", "pickle as a run's best": PICKLED}
# Run as real processes under a 256 MiB address-space limit: the pickles and the hostile sizes; every
# case also goes through the same main() in-process.
AS_PROCESSES = (
    "pickle",
    "pickle as a run's best",
    "header length 2**63",
    "100 MB header",
    "config larger than its weights",
)


def expected_message(name: str) -> str:
    return EXTRA.get(name) or CHECKPOINTS[name][1]


@pytest.fixture(scope="module")
def hostile(reference, tmp_path_factory) -> dict[str, Path]:
    """name -> what to give `backprop eval`: a forged file, or a run whose best checkpoint is a pickle."""
    good = reference("fast") / "checkpoints" / "last.safetensors"
    base = tmp_path_factory.mktemp("hostile")
    targets = {}
    for name, (make, _) in CHECKPOINTS.items():
        directory = base / name.replace(" ", "-").replace("*", "")
        directory.mkdir()
        (directory / "c.safetensors").write_bytes(make(good, directory))
        targets[name] = directory / "c.safetensors"
    sparse = base / "100-mb-header"  # a 100 MB header that is never read: a sparse file costs no disk
    sparse.mkdir()
    with open(sparse / "c.safetensors", "wb") as f:
        f.write(struct.pack("<Q", 100 * 2**20) + b"{")
        f.truncate(8 + 100 * 2**20)
    targets["100 MB header"] = sparse / "c.safetensors"
    evil_run = shutil.copytree(reference("fast"), base / "evil-run")
    (evil_run / "checkpoints" / "best.safetensors").write_bytes(pickle.dumps(Payload(evil_run / "PWNED")))
    targets["pickle as a run's best"] = evil_run
    return targets


@pytest.fixture(scope="module")
def refused(hostile) -> dict:
    """The AS_PROCESSES cases through `backprop eval` as real processes, at once: name -> (result, seconds)."""
    results = timed_all([("eval", hostile[name]) for name in AS_PROCESSES], preexec_fn=limit_memory())
    return dict(zip(AS_PROCESSES, results))


def assert_refused(result, name: str) -> None:
    assert_user_error(result, 2, expected_message(name))
    assert "c.safetensors" in result.stderr or "best.safetensors" in result.stderr  # names the file
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name", [*CHECKPOINTS, *EXTRA])
def test_a_hostile_checkpoint_is_refused_by_eval_with_exit_2_and_one_message(hostile, name):
    assert_refused(in_process("eval", hostile[name]), name)


@pytest.mark.parametrize("name", AS_PROCESSES)
def test_a_hostile_checkpoint_is_refused_by_a_real_process_quickly_within_a_memory_limit(refused, name):
    result, seconds = refused[name]
    assert_refused(result, name)
    assert seconds < 5  # CPU seconds, start-up included; the refusal is a size check, no allocation


def test_the_pickles_payload_never_ran(hostile, refused):
    in_process("eval", hostile["pickle"])
    in_process("eval", hostile["pickle as a run's best"])
    assert not (hostile["pickle"].parent / "PWNED").exists()
    assert not (hostile["pickle as a run's best"] / "PWNED").exists()


def test_eval_of_a_directory_that_is_not_a_run_and_of_a_run_without_checkpoints(reference, tmp_path):
    run = shutil.copytree(reference("fast"), tmp_path / "young")
    for checkpoint in (run / "checkpoints").iterdir():
        checkpoint.unlink()
    (tmp_path / "plain").mkdir()
    young, plain = in_process("eval", run), in_process("eval", tmp_path / "plain")
    assert_user_error(young, 2, "has no checkpoint yet")
    assert_user_error(plain, 2, "is a directory, not a run directory or a checkpoint")


# ---- a run whose last checkpoint has a valid checksum over state this model cannot take ---------------
RESUME_STATES = {
    "wrong dtype": (
        _set("model.0.W", lambda w: w.astype(np.float64)),
        "model.0.W is (2, 16) float64 in the checkpoint, the model expects (2, 16) float32",
    ),
    "no progress": (
        lambda t, m: m.pop("progress"),
        "its resume state is incomplete or malformed (KeyError: 'progress')",
    ),
    "foreign generator state": (
        lambda t, m: m["progress"].__setitem__("shuffle_state", {"bit_generator": "MT19937", "state": 5}),
        "its resume state is incomplete or malformed (ValueError",
    ),
    "malformed callback state": (
        lambda t, m: m.__setitem__("callbacks", {"checkpointer": {"best": 3}}),
        "its resume state is incomplete or malformed",
    ),
}


@pytest.mark.parametrize("name", RESUME_STATES)
def test_resuming_from_inconsistent_state_under_a_valid_checksum_is_refused(reference, tmp_path, name):
    run = shutil.copytree(reference("fast"), tmp_path / "run")
    last = run / "checkpoints" / "last.safetensors"
    change, message = RESUME_STATES[name]
    last.write_bytes(resaved(last, change))
    result = in_process("train", "--resume", run, "--set", "training.epochs=5", "--threads", "1", "--quiet")
    assert_user_error(result, 2, "last.safetensors", message)


# ---- pickles and hostile sizes as data files --------------------------------------------------------
def npy_header(shape: tuple, dtype: str = "<f4") -> bytes:
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def test_pickled_and_oversized_data_files_are_refused_and_never_run(reference, tmp_path):
    marker = tmp_path / "PWNED"
    np.save(tmp_path / "evil.npy", np.array([Payload(marker)], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "evil.npz", x=np.array([Payload(marker)], dtype=object), y=np.array([1]))
    (tmp_path / "raw-pickle.npy").write_bytes(pickle.dumps(Payload(marker)))
    (tmp_path / "huge.npy").write_bytes(npy_header((10**11,)) + b"\0" * 400)
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", npy_header((100_000_000,)) + b"\0" * 400_000)  # declares 400 MB, holds 400 KB
        archive.writestr("y.npy", npy_header((1,), "<i8") + b"\0" * 8)
    with zipfile.ZipFile(tmp_path / "real-bomb.npz", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("x.npy", "w", force_zip64=True) as member:  # 100 MB of zeros, truthfully declared
            member.write(npy_header((25_000_000,)))
            for _ in range(25):
                member.write(bytes(4_000_000))
        archive.writestr("y.npy", npy_header((1,), "<i8") + b"\0" * 8)
    config = "data: {{path: {}}}\nmodel: {{layers: [{{type: dense, units: 2}}]}}\n"
    run = reference("fast")
    from concurrent.futures import ThreadPoolExecutor

    def job(args):
        return backprop(*args, preexec_fn=limit_memory(), cwd=tmp_path)

    (tmp_path / "evil.yaml").write_text(config.format("evil.npz"))
    (tmp_path / "bomb.yaml").write_text(config.format("bomb.npz"))
    (tmp_path / "real-bomb.yaml").write_text(config.format("real-bomb.npz"))
    commands = [("train", f"{name}.yaml", "--runs-dir", "runs") for name in ("evil", "bomb", "real-bomb")]
    with ThreadPoolExecutor(max_workers=3) as pool:  # real processes: a payload or an allocation would show
        evil_npz, bomb, real_bomb = pool.map(job, commands)
    evil_npy = in_process("predict", run, "evil.npy", cwd=tmp_path)
    huge = in_process("predict", run, "huge.npy", cwd=tmp_path)
    raw = in_process("predict", run, "raw-pickle.npy", cwd=tmp_path)
    assert_user_error(evil_npy, 2, "evil.npy: " + PICKLED_DATA)
    assert_user_error(evil_npz, 2, "evil.npz[x.npy]: " + PICKLED_DATA)
    assert_user_error(raw, 2, "raw-pickle.npy: not a valid .npy array")
    assert_user_error(huge, 2, "huge.npy: header declares shape (100000000000,)")
    assert_user_error(bomb, 2, "bomb.npz[x.npy]: header declares shape (100000000,)")
    assert_user_error(real_bomb, 2, "real-bomb.npz[x.npy]: zip entry expands", "over 100 times: a zip bomb")
    assert not marker.exists()
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


# ---- property: a valid checksum over random metadata is still only a CheckpointError ---------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
META_KEYS = ["config", "data", "epoch", "progress", "metrics", "format_version", "kind"]


def _paths(meta: dict) -> list[tuple]:
    """Key paths into the metadata's config and data sections, where a mutation lands."""
    out = []

    def walk(node, path):
        out.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    walk({k: meta[k] for k in ("config", "data") if k in meta}, ())
    return out[1:]


@pytest.fixture(scope="module")
def good_checkpoint(reference) -> Path:
    return reference("fast") / "checkpoints" / "last.safetensors"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_metadata_under_a_valid_checksum_only_ever_raises_checkpoint_error(good_checkpoint, tmp_path, data):
    checkpoint = load_checkpoint(good_checkpoint)
    tensors, meta = checkpoint.tensors, checkpoint.meta
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(meta)
        path = data.draw(st.sampled_from(paths)) if paths else ("config",)
        node = meta
        for key in path[:-1]:
            node = node[key]
        if data.draw(st.booleans()) and isinstance(node, dict):
            node.pop(path[-1], None)
        else:
            node[path[-1]] = data.draw(JSON)
    if data.draw(st.booleans()):
        meta.pop(data.draw(st.sampled_from(META_KEYS)), None)
    target = tmp_path / f"m{data.draw(st.integers(0, 10**9))}.safetensors"
    try:
        save_checkpoint(target, tensors, meta)
    except (ValueError, TypeError):
        return  # not even writable as JSON: nothing to load
    try:
        load_trained(target)
    except CheckpointError:
        pass
    finally:
        target.unlink()


# ---- property: predict builds the model from the stored config without validation: fuzz exactly that --
LAYER_VALUES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.sampled_from(["dense", "relu", "same", "residual", "he_normal", "x", ""])
    | st.lists(st.integers(-3, 10**7), max_size=3)
    | st.dictionaries(st.sampled_from(["type", "units", "layers"]), st.integers(-2, 40), max_size=3)
)
TRUSTED_PATHS = ("layers", "loss", "dtype", "input_shape")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_model_loss_and_shape_metadata_under_a_valid_checksum_only_ever_raise_checkpoint_error(
    good_checkpoint, tmp_path, data
):
    from backprop_cli.data import FeatureRows
    from backprop_cli.inference import predict_rows

    checkpoint = load_checkpoint(good_checkpoint)
    meta = checkpoint.meta
    where = data.draw(st.sampled_from(TRUSTED_PATHS))
    if where == "layers":
        layers = meta["config"]["model"]["layers"]
        node = layers[data.draw(st.integers(0, len(layers) - 1))]
        node[data.draw(st.sampled_from([*node, "type", "units", "layers", "rate", "extra"]))] = data.draw(LAYER_VALUES)
    elif where == "loss":
        meta["config"]["loss"][data.draw(st.sampled_from(["type", "delta"]))] = data.draw(LAYER_VALUES)
    elif where == "dtype":
        meta["config"]["training"]["dtype"] = data.draw(LAYER_VALUES)
    else:
        meta["data"]["input_shape"] = data.draw(LAYER_VALUES)
    target = tmp_path / f"t{data.draw(st.integers(0, 10**9))}.safetensors"
    try:
        save_checkpoint(target, checkpoint.tensors, meta)
    except (ValueError, TypeError):
        return  # not even writable as JSON
    try:
        trained = load_trained(target)
        rows = FeatureRows(np.zeros((2, 2)), None, "<rows>")  # the fast config reads 2 features
        predict_rows(trained, rows, proba=True)
    except CheckpointError:
        pass
    except DataError as err:  # a model that loads but takes other rows than 2 features: the rows' error
        assert "feature" in str(err) or "expects" in str(err), err
    finally:
        target.unlink(missing_ok=True)


def test_a_checkpoint_whose_config_lists_no_layers_is_refused_as_damaged(good_checkpoint, tmp_path):
    """Found by the test above: an empty layer list under a valid digest reached the plan's last layer."""
    checkpoint = load_checkpoint(good_checkpoint)
    checkpoint.meta["config"]["model"]["layers"] = []
    target = tmp_path / "no-layers.safetensors"
    save_checkpoint(target, checkpoint.tensors, checkpoint.meta)
    for verb in ("eval", "predict"):
        assert_user_error(in_process(verb, target), 2, "metadata is damaged", "a model needs at least one layer")
