"""`backprop lr-find`: a sensible rate for Adam on MNIST, a lower one for a rate far too high, nothing written,
and Ctrl-C keeps what was seen."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys

import numpy as np

from backprop_cli.config.load import load_config
from backprop_cli.teach.lr_find import LrFindResult, RangeSchedule, _suggest, lr_range_test
from tests.datafiles import require_full_mnist

from .conftest import CONFIGS, backprop, err, out

SLICE = 7_680  # 60 batches of 128: each step of the test sees new rows


def test_on_the_mnist_mlp_adam_gets_a_rate_within_10x_of_1e_3():
    require_full_mnist()  # 7,680 training rows: more than the shipped slice
    from backprop_cli.data import load_data
    from backprop_cli.train.setup import build_parts

    config = load_config(CONFIGS / "mnist-mlp.yaml").config
    data = load_data(config.data, config.seed, np.float32)
    data = dataclasses.replace(data, x_train=data.x_train[:SLICE], y_train=data.y_train[:SLICE])
    # 60 steps over 5 decades (12 a decade, as 200 over the default 8 decades): ~1 s on a quiet core.
    # The full default run is in the README (backprop lr-find configs/mnist-mlp.yaml -o docs/lr-find.png).
    result = lr_range_test(config, start=1e-5, end=1.0, steps=60, parts=build_parts(config, data=data))
    assert result.stopped == "blew_up"  # the rate reached where Adam diverges
    for rate in (result.steepest, result.min_over_10):
        assert 1e-4 <= rate <= 1e-2, result.to_dict()


def test_on_a_config_whose_rate_is_far_too_high_it_suggests_a_lower_one():
    result = backprop("lr-find", str(CONFIGS / "divergence.yaml"), "--steps", "100", "--json")
    assert result.returncode == 0, err(result)
    found = json.loads(out(result))
    assert found["configured_lr"] == 100000.0
    assert found["suggested"] < 1.0 and found["min_over_10"] < 1.0
    assert found["stopped"] in ("blew_up", "diverged") and len(found["lrs"]) == len(found["losses"])


def test_the_rate_rises_by_the_same_factor_every_step():
    lrs = [RangeSchedule(1e-6, 1.0, 7).lr_at(s, 0) for s in range(7)]
    np.testing.assert_allclose(lrs, [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0])


def test_nothing_is_written_but_the_plot(tmp_path):
    config = tmp_path / "digits.yaml"
    config.write_text((CONFIGS / "digits.yaml").read_text())
    before = sorted(p.name for p in tmp_path.iterdir())
    result = backprop("lr-find", str(config), "--steps", "60", "-o", "lr.png", cwd=tmp_path)
    assert result.returncode == 0, err(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "lr.png"])  # no runs/, no weights
    assert (tmp_path / "lr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = out(result)
    assert "suggested lr" in text and "minimum / 10" in text and "plot: lr.png" in text
    assert "step 25/60" in err(result)


def test_a_bad_plot_name_fails_before_the_test_runs(tmp_path):
    result = backprop("lr-find", str(CONFIGS / "digits.yaml"), "-o", str(tmp_path / "lr.txt"))
    assert result.returncode == 2 and "cannot write a .txt image" in err(result)
    assert "step" not in err(result)


def test_ctrl_c_prints_what_it_has_and_exits_130(tmp_path):
    # a rate too small to ever blow up and a step budget too large to finish: only SIGINT ends it
    args = ["lr-find", str(CONFIGS / "digits.yaml"), "--start", "1e-7", "--end", "1e-6", "--steps", "1000000", "--json"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "backprop_cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path, env=env, text=True)  # fmt: skip
    try:
        assert proc.stderr.readline().startswith("step 25/1000000")
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    found = json.loads(stdout)
    assert found["stopped"] == "interrupted" and len(found["lrs"]) >= 25
    # what it saw is the lowest rates only: nothing to suggest from (it once suggested 1e-8, below --start)
    assert found["suggested"] is None and found["min_over_10"] is None and "interrupted" in found["no_suggestion"]
    assert "Traceback" not in stderr and not (tmp_path / "runs").exists()


def _scan(losses: list[float], stopped: str = "end") -> LrFindResult:
    result = LrFindResult(1e-7, 10.0, len(losses), stopped=stopped)
    result.lrs = [RangeSchedule(1e-7, 10.0, len(losses)).lr_at(s, 0) for s in range(len(losses))]
    result.losses = result.smoothed = list(losses)
    _suggest(result)
    return result


def test_a_flat_scan_suggests_nothing_and_says_why():
    flat = _scan([2.30 - 0.0001 * k for k in range(100)])  # 0.4% lower at the end: no rate worked
    assert flat.suggested is None and flat.min_over_10 is None and "flat" in flat.no_suggestion
    falling = _scan([2.30 - 0.01 * k for k in range(60)] + [1.7 + 0.05 * k for k in range(40)])
    assert falling.no_suggestion is None and falling.suggested is not None


def test_no_suggestion_falls_below_the_first_rate():
    # the loss is lowest at the very first step: "its rate / 10" would be below --start, never tried
    result = _scan([1.0] + [1.5 + 0.01 * k for k in range(99)])
    assert result.min_over_10 is None or result.min_over_10 >= 1e-7


def test_a_plot_without_matplotlib_fails_before_the_test_runs(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from backprop_cli.cli import app
    from backprop_cli.errors import UserError
    from backprop_cli.plot.curves import NEEDS_MATPLOTLIB

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an environment without the extra sees
    result = CliRunner().invoke(app, ["lr-find", str(CONFIGS / "digits.yaml"), "-o", str(tmp_path / "lr.png")])
    # main() turns this UserError into its one line and exit 2 (the other tests run the process itself)
    assert isinstance(result.exception, UserError) and str(result.exception) == NEEDS_MATPLOTLIB
    assert "step" not in result.output and not (tmp_path / "lr.png").exists()


def test_a_start_above_the_end_is_a_usage_error():
    result = backprop("lr-find", str(CONFIGS / "digits.yaml"), "--start", "1", "--end", "0.5")
    assert result.returncode == 2
    assert "--start 1 must be > 0 and below --end 0.5" in err(result) and "Traceback" not in err(result)
