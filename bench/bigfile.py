"""Peak memory of training on an .npy far bigger than memory, read by index (data/rowfile.py).

    python -m bench.bigfile [--gib 2] [--limit-mib 512] [--epochs 1]

Writes a sparse .npy of float32 zeros (rows of 256 features; `--gib` of them, holes on disk), labels
alternating 0/1, and trains one dense layer for `--epochs` epochs, batch 4096, scale: none, no validation
split, in a fresh process whose address space is capped at `--limit-mib` (RLIMIT_AS, `ulimit -v`): the file
could not be read whole, nor mapped whole. Reports the process's peak RSS (wait4) against the file's size,
and its wall and CPU time.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import child_env

WIDTH = 256


def write_sparse_npy(path: Path, rows: int) -> None:
    import numpy as np
    from numpy.lib import format as npformat

    with open(path, "wb") as fp:
        npformat.write_array_header_1_0(fp, {"descr": "<f4", "fortran_order": False, "shape": (rows, WIDTH)})
        fp.truncate(fp.tell() + rows * WIDTH * 4)
    np.save(path.with_name("y.npy"), np.arange(rows) % 2)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bigfile", description=__doc__.split("\n")[0])
    parser.add_argument("--gib", type=float, default=2.0)
    parser.add_argument("--limit-mib", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args(argv)
    rows = int(args.gib * 2**30 / (WIDTH * 4))
    limit = args.limit_mib * 2**20
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_sparse_npy(tmp / "x.npy", rows)
        (tmp / "big.yaml").write_text(
            "data: {path: x.npy, target: y.npy, validation_split: 0, scale: none}\n"
            f"model: {{layers: [{{type: dense, units: 2}}]}}\ntraining: {{epochs: {args.epochs}, batch_size: 4096}}\n"
        )
        argv = [sys.executable, "-m", "backprop_cli", "train", "big.yaml", "--quiet", "--threads", "1"]
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=tmp, env=child_env(1), preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    size_mib = rows * WIDTH * 4 / 2**20
    print(
        f"file {size_mib:,.0f} MiB ({rows:,} rows x {WIDTH} float32), address space capped at {args.limit_mib} MiB: "
        f"exit {os.waitstatus_to_exitcode(status)}, peak RSS {usage.ru_maxrss / 1024:,.0f} MiB, "
        f"wall {wall:.1f} s, CPU {usage.ru_utime + usage.ru_stime:.1f} s, load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
