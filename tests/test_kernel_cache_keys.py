"""Every compiled kernel is found in numba's disk cache by the next process.

numba keys a cached kernel by its bytecode and the pickle of its closure's contents. A compiled function
pickles with an id that is new in every process, so a kernel whose closure held one (a loop calling a scalar
kernel built beside it) missed the cache and compiled again in every process, a second or more each start,
and its cache index grew by an entry each time. Here every kernel group that backprop_cli/jit.py compiles
is built in two fresh processes and each function's closure key is compared.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("numba")

PACKAGE = Path(__file__).resolve().parents[1] / "backprop_cli"
GROUP = re.compile(r"""compiled\("\w+", (?P<builder>\w+)\)""")

KEYS = r"""
import hashlib, importlib, json, sys
from numba import njit
from numba.core.serialize import dumps

built = []

def recording(fn):
    built.append(fn)
    return njit(nogil=True, error_model="numpy")(fn)

for module, builder in json.loads(sys.argv[1]):
    getattr(importlib.import_module(module), builder)(recording)
keys = {}
for fn in built:  # after the builders ran: a closure may name a kernel defined after it
    cells = tuple(cell.cell_contents for cell in fn.__closure__ or ())
    keys[f"{fn.__module__}:{fn.__qualname__}"] = hashlib.sha256(dumps(cells)).hexdigest()
print(json.dumps(keys))
"""


def kernel_builders() -> list[tuple[str, str]]:
    """(module, builder) for every `compiled("group", builder)` call in the package."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for match in GROUP.finditer(path.read_text(encoding="utf-8")):
            module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
            found.add((module, match.group("builder")))
    return sorted(found)


def closure_keys(builders) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-c", KEYS, json.dumps(builders)], capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    return json.loads(done.stdout)


def test_every_kernel_group_is_found():
    modules = {module for module, _ in kernel_builders()}
    expected = {"backprop_cli.nn.kernels.fast_math", "backprop_cli.optim.fused", "backprop_cli.data.augment_kernels"}
    assert expected <= modules
    assert len(modules) >= 9


def test_every_kernel_has_the_same_cache_key_in_a_second_process():
    builders = kernel_builders()
    first, second = closure_keys(builders), closure_keys(builders)
    assert {name.split(":")[0] for name in first} == {module for module, _ in builders}  # every group built
    assert first.keys() == second.keys()
    missed = sorted(name for name in first if first[name] != second[name])
    assert missed == [], f"these kernels would compile again in every process: {missed}"
