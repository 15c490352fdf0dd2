"""The floating-point environment of training: subnormals flushed to zero while a run trains.

Here rather than in cli/, so that a run started by the library (a sweep's trial on a worker) trains
in the same environment as `backprop train`, without importing the CLI.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# The floating-point control register's "flush to zero" bits: x86-64 MXCSR FTZ (bit 15) and DAZ (bit 6),
# at word 7 of glibc's fenv_t; AArch64 FPCR FZ (bit 24), at word 0 of glibc's fenv_t.
_FLUSH_BITS = {"x86_64": (7, 0x8040), "aarch64": (0, 1 << 24)}


@contextmanager
def subnormals_flushed() -> Iterator[bool]:
    """Treat subnormal floats as zero inside the block, in this thread and the threads it starts there.

    Training makes subnormals without meaning to: Adam's first moment decays by beta1 on every step
    where a gradient is exactly zero (MNIST's blank border, dead ReLUs), and on some CPUs (Intel) each
    arithmetic pass over such values is many times slower (bench/README.md). Flushing changes results
    only below float32's ~1.2e-38. The previous state comes back on exit, so a caller's process (a
    test run, a notebook) keeps IEEE semantics. Linux with glibc on x86-64 or AArch64; elsewhere the
    block runs unchanged. Yields whether the flush is on.
    """
    import ctypes  # here, not at the top: `backprop --version` need not load it

    saved = _fenv()
    if saved is None:
        yield False
        return
    word, mask = _FLUSH_BITS[os.uname().machine]
    flushed = (ctypes.c_uint32 * len(saved))(*saved)
    flushed[word] |= mask
    on = _libm().fesetenv(flushed) == 0
    try:
        yield on
    finally:
        _libm().fesetenv(saved)


def _libm():
    import ctypes

    return ctypes.CDLL("libm.so.6")


def _fenv():
    """This thread's floating-point environment (glibc's fenv_t, as words), or None where unsupported."""
    import ctypes

    if not sys.platform.startswith("linux") or os.uname().machine not in _FLUSH_BITS:
        return None
    try:
        env = (ctypes.c_uint32 * 16)()  # larger than fenv_t on either machine
        return env if _libm().fegetenv(env) == 0 else None
    except (OSError, AttributeError):
        return None
