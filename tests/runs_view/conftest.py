"""A runs directory with the states `runs list` meets: finished, early-stopped, still running, killed mid-line."""

from __future__ import annotations

import pytest

from tests.runs_view.builders import config, tear_last_line, write_run


@pytest.fixture
def runs_dir(tmp_path):
    """Four runs, started in this order: early-stopped, completed (with test figures), torn and killed, running."""
    root = tmp_path / "runs"
    write_run(
        root,
        "sigmoid",
        "20260101-090000",
        status="early_stopped",
        epochs=4,
        cfg=config(name="sigmoid", **{"optimizer.lr": 0.01}),
        warnings=["vanishing gradients in layer 0"],
    )
    write_run(root, "mlp", "20260102-090000", test={"loss": 0.21, "accuracy": 0.93})
    torn = write_run(root, "torn", "20260103-090000", status="running", epochs=3, cfg=config(name="torn"))
    tear_last_line(torn)
    write_run(root, "live", "20260104-090000", status=None, epochs=2, cfg=config(name="live"))
    return root
