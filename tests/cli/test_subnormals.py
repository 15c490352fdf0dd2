"""`backprop train` flushes subnormal floats to zero while it trains, and only then."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from backprop_cli.cli.options import subnormals_flushed

SUBNORMAL = np.float32(1e-40)  # below float32's smallest normal, ~1.18e-38

supported = sys.platform.startswith("linux") and os.uname().machine in ("x86_64", "aarch64")


@pytest.mark.skipif(not supported, reason="flushing is implemented for Linux on x86-64 and AArch64")
def test_subnormals_are_zero_inside_the_block_and_kept_after_it():
    assert SUBNORMAL * np.float32(1.0) != 0
    with subnormals_flushed() as on:
        assert on
        assert SUBNORMAL * np.float32(1.0) == 0  # flushed (x86: DAZ on the input, FTZ on results)
        assert np.float32(1e-20) * np.float32(1e-20) == 0  # a result that would be subnormal
    assert SUBNORMAL * np.float32(1.0) == SUBNORMAL  # the caller's IEEE semantics are back


def test_float64_normals_are_untouched_inside_the_block():
    with subnormals_flushed():
        assert np.float64(1e-300) * np.float64(1e-5) == pytest.approx(1e-305, rel=1e-12)
