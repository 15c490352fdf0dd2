"""PyTorch's numbers, recorded once in tests/fixtures/torch by tests/fixtures/make_torch_fixtures.py, so that
the cross-checks against PyTorch run in every test run, with or without PyTorch installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "torch"

# the cases the recordings hold, in their order (the generator and the tests read them from here)
CONV1D_CASES = [
    {"kernel_size": 3},
    {"kernel_size": 5, "stride": 2, "padding": 2},
    {"kernel_size": 3, "dilation": 3, "padding": 1},
    {"kernel_size": 4, "stride": 3, "dilation": 2},
]
RECURRENT_IMPORT_CASES = [(k, bi, seq) for k in ("rnn", "lstm", "gru") for bi, seq in [(0, 0), (1, 1), (1, 0)]]


def recorded(name: str) -> dict[str, np.ndarray]:
    """The arrays of tests/fixtures/torch/<name>.npz (nothing unpickled)."""
    with np.load(FIXTURES / f"{name}.npz", allow_pickle=False) as stored:
        return {key: stored[key] for key in stored.files}


def case(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The arrays named `<prefix>.<name>`, keyed by name."""
    start = prefix + "."
    return {k[len(start) :]: v for k, v in arrays.items() if k.startswith(start)}
