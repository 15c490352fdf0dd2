"""`backprop --version` and `--help` start fast: they never import numba (a core dependency, loaded on
the first kernel call only) nor NumPy's compiled kernels."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["train", "--help"]], ids=" ".join)
def test_version_and_help_never_import_numba(args):
    probe = (
        "import runpy, sys\n"
        f"sys.argv = ['backprop', *{args!r}]\n"
        "try:\n"
        "    runpy.run_module('backprop_cli', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('\\nNUMBA' if 'numba' in sys.modules else '\\nNO-NUMBA')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("NO-NUMBA"), done.stdout[-500:]
    assert "backprop" in done.stdout  # the command did print its version or help


def test_the_probe_does_see_numba_once_a_kernel_runs():
    """The check above can fail: a kernel call imports numba in the same kind of process."""
    probe = (
        "import sys, numpy as np\n"
        "from backprop_cli.nn.kernels import conv as conv_kernels\n"
        "conv_kernels.kernels()\n"
        "print('NUMBA' if 'numba' in sys.modules else 'NO-NUMBA')\n"
    )
    pytest.importorskip("numba")
    env = {k: v for k, v in os.environ.items() if k != "BACKPROP_NO_NUMBA"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=env)
    assert done.stdout.strip() == "NUMBA", done.stderr
