"""The kernels' compile cost: `python -m bench.worker compile - 0 OUT.json` in a fresh process.

The harness runs it twice per repeat with NUMBA_CACHE_DIR set to a new empty directory: the first
process compiles every kernel (cold), the second loads them from that disk cache (warm), which is
what every `backprop train` after the first pays. Also records which kernels ran: numba's, or the
NumPy rules when numba is missing or BACKPROP_NO_NUMBA=1 is set.
"""

from __future__ import annotations

import time


def run_compile() -> dict:
    import numpy as np

    started = time.perf_counter()
    from backprop_cli.nn.kernels import conv as conv_kernels
    from backprop_cli.optim import fused
    from backprop_cli.optim.adam import Adam

    found = conv_kernels.kernels()
    imported = time.perf_counter() - started
    seconds = conv_kernels.warm_up(np.float32)
    adam_started = time.perf_counter()
    fused.warm_up(Adam(), np.zeros(fused.MIN_SIZE, dtype=np.float32))
    seconds += time.perf_counter() - adam_started
    optim = fused.compiled("optim", fused._optimizer_kernels) if found else {}
    if found:
        import numba

        which = f"numba {numba.__version__}: " + ", ".join([*sorted(found), *sorted(optim)])
    else:
        which = "NumPy rules (numba unavailable or BACKPROP_NO_NUMBA=1)"
    return {"import_s": imported, "compile_s": seconds, "kernels": which}
