"""Checkpoints: safetensors files whose `backprop` metadata is JSON carrying a SHA-256.

Nothing is ever unpickled. Every refusal on load is a CheckpointError (exit 2) naming the file;
writing one is done by the atomic writer, and non-finite weights are never written.
The checksum covers every tensor (sorted by name: name, dtype, shape, raw bytes) and the
metadata itself, so a flipped bit anywhere is caught (safetensors alone loads it silently).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy

from backprop_cli.errors import CheckpointError, RunError
from backprop_cli.runs.atomic import atomic_write_bytes
from backprop_cli.runs.jsonio import dumps, to_jsonable
from backprop_cli.runs.rundir import RunFiles, is_run_dir, newest_run_named
from backprop_cli.runs.safetensors_header import DTYPES, FIX_DAMAGED, FIX_FOREIGN, read_safetensors

FORMAT_VERSION = 1
METADATA_KEY = "backprop"
_CODES = {dtype: code for code, dtype in DTYPES.items()}


@dataclass
class Checkpoint:
    """A verified checkpoint: tensors by dotted name, the decoded `backprop` metadata, the file."""

    tensors: dict[str, np.ndarray]
    meta: dict[str, Any]
    path: Path

    def section(self, prefix: str) -> dict[str, np.ndarray]:
        """Tensors named `<prefix>.<rest>`, keyed by `<rest>` (e.g. section("model"))."""
        start = prefix + "."
        return {name[len(start) :]: t for name, t in self.tensors.items() if name.startswith(start)}

    def weights(self, which: str | None = None) -> dict[str, np.ndarray]:
        """The model's tensors to use: "raw" (as trained), "ema" (the weight average in place of the
        trained parameters; refused when the run kept none), or None: the average when there is one."""
        model, ema = self.section("model"), self.section("ema")
        if which == "ema" and not ema:
            raise CheckpointError(
                "holds no weight average: its run did not set training.ema",
                where=str(self.path),
                fix="use --weights raw",
            )
        return model if which == "raw" else {**model, **ema}


def _dtype_code(dtype: np.dtype) -> str | None:
    little = dtype.newbyteorder("<") if dtype.byteorder in "<>=" else dtype
    return _CODES.get(little)


def _canonical_meta(meta: Mapping[str, Any]) -> bytes:
    body = {key: value for key, value in meta.items() if key != "sha256"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def checkpoint_digest(tensors: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> str:
    """SHA-256 over the tensors sorted by name (name, dtype, shape, raw bytes) and the metadata."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        x = _normalized(name, tensors[name])
        h.update(f"{name}\0{_dtype_code(x.dtype)}\0{list(x.shape)}\0{x.nbytes}\0".encode())
        h.update(x.reshape(-1).view(np.uint8))
    h.update(b"meta\0" + _canonical_meta(meta))
    return h.hexdigest()


def _first_non_finite(tensors: Mapping[str, np.ndarray]) -> str | None:
    for name, x in tensors.items():
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            return name
    return None


def _normalized(name: str, x: Any) -> np.ndarray:
    x = np.asarray(x)
    code = _dtype_code(x.dtype)
    if code is None or not name or name == "__metadata__":
        raise ValueError(f"cannot save tensor {name!r} of dtype {x.dtype} in a checkpoint")
    return np.asarray(x, dtype=DTYPES[code], order="C")  # keeps 0-d arrays 0-d


def save_checkpoint(path: str | os.PathLike[str], tensors: Mapping[str, Any], meta: Mapping[str, Any]) -> None:
    """Write tensors and metadata atomically; refuses non-finite float tensors (RunError, exit 1)."""
    path = Path(path)
    arrays = {name: _normalized(name, x) for name, x in tensors.items()}
    bad = _first_non_finite(arrays)
    if bad is not None:
        raise RunError(
            f"refusing to save non-finite weights: tensor {bad} holds NaN or inf",
            where=str(path),
            fix="the previous checkpoint is kept; lower the learning rate or clip gradients",
        )
    body = dict(to_jsonable(dict(meta)))
    body.pop("sha256", None)
    body["format_version"] = FORMAT_VERSION
    body["sha256"] = checkpoint_digest(arrays, body)
    atomic_write_bytes(path, safetensors.numpy.save(arrays, metadata={METADATA_KEY: dumps(body)}))


def _refused(path: Path, what: str, fix: str = FIX_DAMAGED) -> CheckpointError:
    return CheckpointError(what, where=str(path), fix=fix)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _decode_meta(path: Path, metadata: Mapping[str, str]) -> dict[str, Any]:
    if METADATA_KEY not in metadata:
        raise _refused(path, "no backprop metadata: not a backprop checkpoint", FIX_FOREIGN)
    try:
        meta = json.loads(metadata[METADATA_KEY], parse_constant=_reject_constant)
    except ValueError as err:
        raise _refused(path, f"backprop metadata is not valid JSON ({err})") from None
    except RecursionError:
        raise _refused(path, "backprop metadata is not valid JSON (nested too deeply)") from None
    if not isinstance(meta, dict):
        raise _refused(path, "backprop metadata is not a JSON object")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _refused(path, "backprop metadata has no valid format_version")
    if version > FORMAT_VERSION:
        what = f"written by format {version}; this backprop reads ≤ {FORMAT_VERSION}"
        raise _refused(path, what, "upgrade backprop to load it")
    if not isinstance(meta.get("sha256"), str):
        raise _refused(path, "backprop metadata has no checksum")
    return meta


def _decode_tensors(path: Path, data: bytes) -> dict[str, np.ndarray]:
    try:
        loaded = safetensors.numpy.load(data)
    except Exception as err:  # the container was validated; this is a last line of defence
        raise _refused(path, f"safetensors cannot read it ({err})") from None
    return {name: x if x.flags.writeable else x.copy() for name, x in loaded.items()}


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read and verify a checkpoint: container layout, metadata, format version, checksum, finiteness."""
    path = Path(path)
    container = read_safetensors(path)
    meta = _decode_meta(path, container.metadata)
    tensors = _decode_tensors(path, container.data)
    if checkpoint_digest(tensors, meta) != meta["sha256"]:
        raise _refused(path, f"checksum mismatch in {path.name} (file corrupted)")
    bad = _first_non_finite(tensors)
    if bad is not None:
        raise _refused(path, f"tensor {bad} holds NaN or inf")
    return Checkpoint(tensors, meta, path)


def _describe(shape: tuple[int, ...], dtype: Any) -> str:
    return f"{tuple(shape)} {np.dtype(dtype).name}"


def _mismatches(found: Mapping[str, np.ndarray], expected: Mapping[str, tuple[tuple[int, ...], Any]]) -> list[str]:
    missing = [n for n in expected if n not in found]
    problems = [f"missing tensor {n} (expected {_describe(*expected[n])})" for n in missing]
    extra = [n for n in found if n not in expected]
    problems += [f"unexpected tensor {n} {_describe(found[n].shape, found[n].dtype)}" for n in extra]
    for name in (n for n in expected if n in found):
        shape, dtype = expected[name]
        x = found[name]
        if tuple(x.shape) != tuple(shape) or x.dtype != np.dtype(dtype):
            problems.append(
                f"tensor {name} is {_describe(x.shape, x.dtype)} in the checkpoint, "
                f"the model expects {_describe(shape, dtype)}"
            )
    return problems


def check_tensors_match(
    found: Mapping[str, np.ndarray],
    expected: Mapping[str, tuple[tuple[int, ...], Any]],
    path: str | os.PathLike[str],
) -> None:
    """Refuse (CheckpointError) unless `found` has exactly the expected names, shapes and dtypes."""
    problems = _mismatches(found, expected)
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise CheckpointError(
            "; ".join(problems[:5]) + more,
            where=str(path),
            fix="the checkpoint was written for another model; use the config it was trained with",
        )


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path:
    """A checkpoint file is itself; a run directory gives its best checkpoint, else its last; a run's name
    (`runs/quickstart`) its newest run."""
    path = newest_run_named(path) or Path(path)
    if path.is_dir():
        files = RunFiles(path)
        for candidate in (files.best, files.last):
            if candidate.is_file():
                return candidate
        if is_run_dir(path):
            raise CheckpointError(
                f"run {path} has no checkpoint yet",
                fix="wait for its first epoch to finish, or continue it with `backprop train --resume`",
            )
        from backprop_cli.runs.studydir import study_pointer

        pointer = study_pointer(path)
        if pointer is not None:
            raise CheckpointError(pointer[0], fix=pointer[1])
        raise CheckpointError(
            "is a directory, not a run directory or a checkpoint",
            where=str(path),
            fix="pass a .safetensors file or a run directory (see `backprop runs list`)",
        )
    if not path.exists():
        raise CheckpointError(
            "no such checkpoint or run directory",
            where=str(path),
            fix="pass a .safetensors file or a run directory (see `backprop runs list`)",
        )
    return path
