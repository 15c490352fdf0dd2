"""What every measurement shares: the thread environment, the data, the CPU's name, result files."""

from __future__ import annotations

import gzip
import json
import os
import platform
import statistics
from pathlib import Path

THREADS = 2
ROOT = Path(__file__).resolve().parent.parent  # the repository
DEFAULT_DATA_DIR = Path("/work/shared/datasets")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def data_dir() -> Path:
    return Path(os.environ.get("BACKPROP_DATA_DIR") or DEFAULT_DATA_DIR)


def child_env(threads: int = THREADS) -> dict[str, str]:
    """The environment of every measured process: the same thread cap for all implementations."""
    env = dict(os.environ)
    env.update({var: str(threads) for var in THREAD_VARS})
    env["BACKPROP_DATA_DIR"] = str(data_dir())
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _idx(path: Path):
    import numpy as np

    raw = gzip.decompress(path.read_bytes())
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist():
    """(x_train (60000, 784), y_train, x_test (10000, 784), y_test): float32 pixels in [0, 1], int64 labels.

    The same values backprop trains on with `scale: none` (pixels / 255 in float32).
    """
    import numpy as np

    root = data_dir() / "mnist"

    def images(name):
        x = _idx(root / name).reshape(-1, 784).astype(np.float32)
        x /= np.float32(255.0)
        return x

    def labels(name):
        return _idx(root / name).astype(np.int64)

    return (
        images("train-images-idx3-ubyte.gz"),
        labels("train-labels-idx1-ubyte.gz"),
        images("t10k-images-idx3-ubyte.gz"),
        labels("t10k-labels-idx1-ubyte.gz"),
    )


def load_digits_csv():
    """UCI digits from the shared CSV (the file backprop bundles): x (1797, 64) float32 in 0..16, y int64."""
    import numpy as np

    table = np.loadtxt(data_dir() / "digits.csv", delimiter=",", skiprows=1, dtype=np.float32)
    return table[:, :-1].copy(), table[:, -1].astype(np.int64)


def later_epochs_median(times: list[float]) -> float:
    """The median epoch time of epochs 2..E: the first epoch pays for warm-up (page faults, thread start)."""
    return statistics.median(times[1:] if len(times) > 1 else times)


def write_json(path: str | os.PathLike, data: dict) -> None:
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def cpu_name() -> str:
    """The CPU model as /proc/cpuinfo names it, with family/model (a VM may hide the marketing name)."""
    info: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
    except OSError:
        return platform.processor() or platform.machine()
    flags = info.get("flags", "").split()
    isa = "AVX-512" if "avx512f" in flags else "AVX2, no AVX-512" if "avx2" in flags else "no AVX2"
    return (
        f"{info.get('model name', '?')} (family {info.get('cpu family', '?')}, model {info.get('model', '?')}; "
        f"{isa}; {os.cpu_count()} logical CPUs)"
    )


def worker_result(module: str, kind: str, options: list[str], threads: int) -> dict:
    """`python -m MODULE --worker KIND OUT OPTIONS...` in a fresh process with the thread environment: its JSON
    result, with `peak_rss_mb` (the process's ru_maxrss from wait4) and `epoch_s` (the median of epochs 2..E)."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", module, "--worker", kind, str(out), *options]
        proc = subprocess.Popen(cmd, env={**child_env(threads), "BENCH_THREADS": str(threads)}, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        if status != 0:
            raise SystemExit(f"{module} {kind} failed with status {status}")
        result = json.loads(out.read_text())
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    result["epoch_s"] = later_epochs_median(result["epoch_times"])
    return result


def interleaved(kinds: tuple[str, ...], repeats: int, measure) -> dict[str, list[dict]]:
    """`measure(kind)` for every kind, `repeats` times: repeat r runs each once in an order rotated by r, so a
    noisy spell on the host hits every implementation alike."""
    import sys

    runs: dict[str, list[dict]] = {kind: [] for kind in kinds}
    for r in range(repeats):
        shift = r % len(kinds)
        for kind in kinds[shift:] + kinds[:shift]:
            runs[kind].append(measure(kind))
            print(f"{kind}: {runs[kind][-1]['epoch_s']:.4f} s/epoch", file=sys.stderr)
    return runs
