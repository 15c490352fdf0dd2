"""One measurement in a fresh process: `python -m bench.worker KIND WORKLOAD EPOCHS OUT.json`.

The harness sets the thread environment before this process starts, so NumPy, OpenBLAS and
PyTorch all see the same cap from their first import.
"""

from __future__ import annotations

import sys

from bench.common import THREADS, write_json
from bench.workloads import MLP_WORKLOADS


def main(argv: list[str]) -> None:
    kind, workload, epochs, out = argv[0], argv[1], int(argv[2]), argv[3]
    w = MLP_WORKLOADS.get(workload)
    if kind == "torch-cnn":
        from bench.cnn import run_torch as run_torch_cnn

        result = run_torch_cnn(epochs, THREADS)
    elif kind == "torch-seq":
        from bench.sequences import run_torch as run_torch_sequence

        result = run_torch_sequence(workload, epochs, THREADS)
    elif kind == "gemm-cnn":
        from bench.cnn import run_gemm as run_gemm_cnn

        result = run_gemm_cnn(THREADS)
    elif kind == "compile":
        from bench.compile import run_compile

        result = run_compile()
    elif kind == "backprop-lib":
        from bench.ours import run_library

        result = run_library(w, epochs, THREADS)
    elif kind in ("torch", "torch-fused-ftz"):
        from bench.peers import run_torch

        result = run_torch(w, epochs, THREADS, best=kind == "torch-fused-ftz")
    elif kind == "sklearn":
        from bench.peers import run_sklearn

        result = run_sklearn(w, epochs, THREADS)
    elif kind == "sklearn-digits":
        from bench.peers import run_sklearn_digits

        result = run_sklearn_digits(THREADS)
    elif kind == "gemm":
        from bench.gemm import run_gemm

        result = run_gemm(w, THREADS)
    else:
        raise SystemExit(f"unknown measurement {kind!r}")
    write_json(out, result)


if __name__ == "__main__":
    main(sys.argv[1:])
