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
