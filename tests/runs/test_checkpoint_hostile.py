"""Checkpoints as attack surface: pickles, truncation, bit flips, hostile sizes, foreign files.

Every refusal is a CheckpointError (exit 2) naming the file; nothing is unpickled, and every size
is checked before anything large is allocated (the 100 MB and 2**63 claims are never read).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import struct

import numpy as np
import pytest
import safetensors.numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop_cli.errors import CheckpointError
from backprop_cli.runs.checkpoint import checkpoint_digest, load_checkpoint, resolve_checkpoint, save_checkpoint
from backprop_cli.runs.rundir import RunFiles

from .forge import entry, forge

PICKLE_MESSAGE = "not a backprop checkpoint (invalid safetensors header); pickled files are never loaded"
HYPOTHESIS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class _Payload:
    """Unpickling this creates a directory: the side effect a malicious checkpoint would have."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _valid_bytes(tmp_path) -> bytes:
    tensors = {"model.0.W": np.arange(12, dtype=np.float32).reshape(4, 3), "model.0.b": np.ones(3, np.float32)}
    save_checkpoint(tmp_path / "valid.safetensors", tensors, {"epoch": 3, "step": 57})
    return (tmp_path / "valid.safetensors").read_bytes()


def _refused(tmp_path, data: bytes, match: str) -> CheckpointError:
    path = tmp_path / "c.safetensors"
    path.write_bytes(data)
    with pytest.raises(CheckpointError, match=match) as info:
        load_checkpoint(path)
    assert info.value.where == str(path) and info.value.exit_code == 2
    return info.value


def _with_metadata(backprop: str | None, tensors=None) -> bytes:
    tensors = {"w": np.zeros(2, np.float32)} if tensors is None else tensors
    return safetensors.numpy.save(tensors, metadata=None if backprop is None else {"backprop": backprop})


def _data_offset(data: bytes) -> int:
    return 8 + struct.unpack("<Q", data[:8])[0]


def test_a_pickle_disguised_as_a_checkpoint_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"model.0.W": _Payload(marker)})
    _refused(tmp_path, payload, re.escape(PICKLE_MESSAGE))
    assert not marker.exists()
    pickle.loads(payload)  # the payload is live: plain unpickling would have run it
    assert marker.exists()


def test_a_pickle_as_the_best_checkpoint_of_a_run_directory_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    files = RunFiles(tmp_path / "evilrun")
    files.checkpoints.mkdir(parents=True)
    files.config.write_text("seed: 0\n")
    files.best.write_bytes(pickle.dumps(_Payload(marker), protocol=2))
    with pytest.raises(CheckpointError, match="pickled files are never loaded"):
        load_checkpoint(resolve_checkpoint(files.root))
    assert not marker.exists()


def test_a_checkpoint_truncated_at_any_byte_offset_is_refused(tmp_path):
    data = _valid_bytes(tmp_path)
    for cut in range(len(data)):
        _refused(tmp_path, data[:cut], rf"checkpoint is truncated or corrupted \(expected .* bytes, found {cut}\)")


@pytest.mark.parametrize("extra", [b"\0", b"x" * 100])
def test_a_checkpoint_with_trailing_bytes_is_refused(tmp_path, extra):
    data = _valid_bytes(tmp_path)
    message = rf"truncated or corrupted \(expected {len(data)} bytes, found {len(data) + len(extra)}\)"
    _refused(tmp_path, data + extra, message)


def test_a_flipped_bit_in_tensor_data_is_a_checksum_mismatch_that_safetensors_alone_accepts(tmp_path):
    data = bytearray(_valid_bytes(tmp_path))
    data[_data_offset(data) + 5] ^= 0x01
    assert len(safetensors.numpy.load(bytes(data))) == 2  # the format itself has no integrity check
    _refused(tmp_path, bytes(data), r"checksum mismatch in c.safetensors \(file corrupted\)")


def test_edited_metadata_is_a_checksum_mismatch(tmp_path):
    data = _valid_bytes(tmp_path)
    edited = data.replace(b'\\"epoch\\": 3', b'\\"epoch\\": 9')
    assert edited != data and len(edited) == len(data)
    _refused(tmp_path, edited, "checksum mismatch")


def test_a_header_length_of_two_to_the_63_is_refused(tmp_path):
    _refused(tmp_path, forge(b'{"w": 1}', header_len=2**63), r"header claims 9223372036854775808 bytes")


def test_a_100_mb_header_is_refused_without_being_read(tmp_path):
    path = tmp_path / "c.safetensors"
    with open(path, "wb") as f:  # a sparse file: 100 MB on paper, nothing on disk
        f.write(forge(b"{", header_len=100_000_000))
        f.truncate(8 + 100_000_000)
    with pytest.raises(CheckpointError, match=r"header claims 100000000 bytes \(limit 16777216\)"):
        load_checkpoint(path)


def test_a_header_claiming_more_bytes_than_the_file_has_is_truncated(tmp_path):
    _refused(tmp_path, forge(b'{"w": 1}', header_len=5000), r"expected at least 5008 bytes, found 16")


def test_overlapping_tensors_are_refused(tmp_path):
    header = {"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 4, 12)}
    _refused(tmp_path, forge(header, bytes(12)), "tensors 'a' and 'b' overlap in the data region")


def test_a_gap_between_tensors_is_refused(tmp_path):
    header = {"a": entry("F32", [1], 0, 4), "b": entry("F32", [1], 8, 12)}
    _refused(tmp_path, forge(header, bytes(12)), "4 unused bytes before tensor 'b'")


def test_a_shape_that_does_not_fit_its_offsets_is_refused_without_allocating_it(tmp_path):
    header = {"a": entry("F64", [10**11], 0, 8)}
    _refused(tmp_path, forge(header, bytes(8)), r"shape \(100000000000,\) F64 needs 800000000000 bytes")


def test_offsets_past_the_end_of_the_file_are_truncation(tmp_path):
    header = {"a": entry("U8", [1000], 0, 1000)}
    _refused(tmp_path, forge(header, bytes(10)), r"truncated or corrupted \(expected \d+ bytes")


def test_duplicate_tensor_names_are_refused(tmp_path):
    raw = b'{"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, '
    raw += b'"w": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}'
    _refused(tmp_path, forge(raw, b"\0\0"), "checkpoint header has a duplicate name 'w'")


@pytest.mark.parametrize(
    "spec, message",
    [
        (entry("BF16", [1], 0, 2), "unsupported dtype 'BF16'"),
        (entry("F32", [True], 0, 4), "malformed shape"),
        (entry("F32", [-1], 0, 4), "malformed shape"),
        (entry("F32", [1], 4, 0), "needs 4 bytes"),
        ({"dtype": "F32", "shape": [1]}, "malformed header entry"),
        ({**entry("F32", [1], 0, 4), "extra": 1}, "malformed header entry"),
        ("not an entry", "malformed header entry"),
    ],
)
def test_a_malformed_tensor_entry_is_refused(tmp_path, spec, message):
    _refused(tmp_path, forge({"t": spec}, bytes(4)), message)


@pytest.mark.parametrize(
    "raw",
    [b"[1, 2, 3]", b'{"a": ', b"{\xff\xfe}", b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", b"{}}"],
    ids=["a list", "cut JSON", "not UTF-8", "nested too deeply", "trailing brace"],
)
def test_a_header_that_is_not_a_json_object_is_not_a_checkpoint(tmp_path, raw):
    _refused(tmp_path, forge(raw), "invalid safetensors header")


def test_a_file_without_backprop_metadata_is_foreign(tmp_path):
    _refused(tmp_path, _with_metadata(None), "no backprop metadata: not a backprop checkpoint")


def test_a_hugging_face_style_file_is_foreign(tmp_path):
    data = safetensors.numpy.save({"bert.embeddings.weight": np.zeros((4, 2), np.float32)}, metadata={"format": "pt"})
    _refused(tmp_path, data, "no backprop metadata")


def test_a_checkpoint_from_a_future_format_is_refused_with_both_versions(tmp_path):
    data = _with_metadata(json.dumps({"format_version": 3}))
    error = _refused(tmp_path, data, "written by format 3; this backprop reads ≤ 1")
    assert error.fix == "upgrade backprop to load it"


@pytest.mark.parametrize(
    "backprop, message",
    [
        ("{epoch: 3", "backprop metadata is not valid JSON"),
        ('{"format_version": NaN, "sha256": "00"}', "backprop metadata is not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, r"not valid JSON \(nested too deeply\)"),
        ("[1, 2]", "backprop metadata is not a JSON object"),
        ('{"epoch": 1}', "no valid format_version"),
        ('{"format_version": true}', "no valid format_version"),
        ('{"format_version": 1}', "backprop metadata has no checksum"),
    ],
)
def test_bad_backprop_metadata_is_refused(tmp_path, backprop, message):
    _refused(tmp_path, _with_metadata(backprop), message)


def test_a_malformed_metadata_table_is_refused(tmp_path):
    header = {"__metadata__": {"backprop": {"nested": "object"}}}
    _refused(tmp_path, forge(header), "malformed __metadata__")


def test_nan_weights_are_refused_even_with_a_valid_checksum(tmp_path):
    tensors = {"model.0.W": np.array([1.0, np.nan], np.float32)}
    body = {"epoch": 2, "format_version": 1}
    body["sha256"] = checkpoint_digest(tensors, body)
    _refused(tmp_path, _with_metadata(json.dumps(body), tensors), "tensor model.0.W holds NaN or inf")


@pytest.mark.parametrize("size", [0, 3, 7])
def test_a_file_shorter_than_the_length_prefix_is_truncated(tmp_path, size):
    _refused(tmp_path, bytes(size), rf"expected at least 8 bytes, found {size}")


def test_a_missing_file_a_directory_or_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    cases = [("missing", "no such checkpoint file"), ("", "not a regular file"), ("fifo", "not a regular file")]
    for path, message in cases:
        with pytest.raises(CheckpointError, match=message):
            load_checkpoint(tmp_path / path)


@HYPOTHESIS
@given(data=st.binary(max_size=400))
def test_random_bytes_are_refused_as_a_checkpoint_error(tmp_path, data):
    (tmp_path / "r.safetensors").write_bytes(data)
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "r.safetensors")


@HYPOTHESIS
@given(rest=st.binary(max_size=400), stated=st.integers(0, 2**64 - 1) | st.integers(0, 500))
def test_random_bytes_behind_a_plausible_header_start_are_refused(tmp_path, rest, stated):
    (tmp_path / "r.safetensors").write_bytes(struct.pack("<Q", stated) + b"{" + rest)
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "r.safetensors")


@HYPOTHESIS
@given(data=st.data())
def test_any_single_changed_byte_is_refused_or_changes_nothing(tmp_path, data):
    valid = _valid_bytes(tmp_path)
    original = load_checkpoint(tmp_path / "valid.safetensors")
    index = data.draw(st.integers(0, len(valid) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != valid[index]))
    path = tmp_path / "c.safetensors"
    path.write_bytes(valid[:index] + bytes([value]) + valid[index + 1 :])
    try:
        loaded = load_checkpoint(path)
    except CheckpointError:
        return
    assert loaded.meta == original.meta  # e.g. a space of header padding became a tab
    assert {k: v.tobytes() for k, v in loaded.tensors.items()} == {k: v.tobytes() for k, v in original.tensors.items()}
