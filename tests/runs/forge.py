"""Hand-made safetensors files for the hostile-input tests, and a subprocess runner."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from typing import Any


def forge(header: dict[str, Any] | bytes, data: bytes = b"", header_len: int | None = None) -> bytes:
    """8-byte length | header JSON (or raw bytes) | data; `header_len` overrides the stated length."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    stated = len(raw) if header_len is None else header_len
    return struct.pack("<Q", stated) + raw + data


def entry(dtype: str, shape: list[int], begin: int, end: int) -> dict[str, Any]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def run_python(code: str, *args: str, env: dict[str, str] | None = None, timeout: float = 60):
    """Run `python -c code args...` to completion with extra environment variables."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=full_env, capture_output=True, text=True, timeout=timeout
    )
