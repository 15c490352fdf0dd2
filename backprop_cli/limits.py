"""The ranges of the numbers a user gives on the command line: wide enough for any real use, narrow enough that
the arithmetic on them stays finite. Imported by the option parsers and by the library functions that check
their own arguments (no NumPy here: the CLI imports this at start-up)."""

from __future__ import annotations

# lr-find's rates: lr = start·(end/start)^f is computed in logs, and any rate in here trains without a float error
LR_RANGE = (1e-12, 1e12)
# generate: logits / T stays finite in float64 for float32 logits down to 1e-3 (a smaller T is argmax: use 0)
TEMPERATURE_RANGE = (1e-3, 1e3)
# gradcheck: a relative error lies in [0, 1] (errors are |a - b| / max(|a| + |b|, floor))
TOLERANCE_RANGE = (0.0, 1.0)
# diff: the largest absolute |Δ| between two runs' tensors that counts as equal (0 alone: bit-identical)
DIFF_TOLERANCE_RANGE = (1e-30, 1e30)


def memory_allowance() -> int:
    """Bytes a run may plan to use: half of this machine's physical memory (the rest is the system's, and
    NumPy's temporaries')."""
    import os

    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2


def format_bytes(n: float) -> str:
    """1536 -> "1.5 KiB"; binary units, as the allowance is a fraction of RAM."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def check_generated(nbytes: int, what: str, where: str, fix: str) -> None:
    """Refuse, before a byte is allocated, data a built-in would generate beyond the machine's allowance."""
    allowance = memory_allowance()
    if nbytes > allowance:
        from backprop_cli.errors import ConfigError

        raise ConfigError(  # a config key is the knob: the CLI names its line
            f"{what} would take about {format_bytes(nbytes)} to generate; this machine allows "
            f"{format_bytes(allowance)}",
            where=where,
            fix=fix,
        )
