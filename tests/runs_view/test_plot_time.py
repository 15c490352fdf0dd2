"""`plot` draws a recurrent layer's gradient over time (time_grad_norm) below the gradient-flow panels."""

from __future__ import annotations

import json

from backprop_cli.plot.curves import build_figure
from backprop_cli.plot.time_flow import time_series
from backprop_cli.runs.listing import open_run
from backprop_cli.runs.rundir import RunFiles
from tests.runs_view.builders import config, write_run


def with_time_norms(run_dir, firsts):
    """Rewrite metrics.jsonl so that layer 0 reports time_grad_norm, one `first` per epoch (last = 1)."""
    path = RunFiles(run_dir).metrics
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for record, first in zip(records, firsts, strict=True):
        record["layers"]["0"]["time_grad_norm"] = {"first": first, "middle": 0.1, "last": 1.0}
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return open_run(run_dir)


def test_each_recurrent_run_gets_a_panel_of_its_first_middle_and_last_step_norms(tmp_path):
    rnn = with_time_norms(write_run(tmp_path, "rnn", cfg=config(name="rnn"), epochs=3), [1e-6, 1e-9, 0.0])
    plain = open_run(write_run(tmp_path, "mlp", cfg=config(name="mlp"), epochs=3))
    fig = build_figure([rnn, plain])
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[-1] == "Gradient over time in rnn: |dL/dh_t| at the first, middle and last step"
    assert sum(t.startswith("Gradient over time") for t in titles) == 1  # the MLP run has none
    time_ax = fig.axes[-1]
    assert time_ax.get_yscale() == "log"
    labels = [t.get_text() for t in time_ax.get_legend().get_texts()]
    assert labels == ["layer 0: last step", "layer 0: middle step", "layer 0: first step"]
    xs, ys = time_series(rnn)["0"]["first"]
    assert xs == [1.0, 2.0, 3.0] and ys[:2] == [1e-6, 1e-9] and ys[2] != ys[2]  # 0 is a gap on a log axis


def test_a_single_metric_plot_leaves_the_time_panels_out(tmp_path):
    rnn = with_time_norms(write_run(tmp_path, "rnn", cfg=config(name="rnn"), epochs=2), [1e-6, 1e-5])
    titles = [ax.get_title() for ax in build_figure([rnn], metric="loss").axes]
    assert not any(t.startswith("Gradient over time") for t in titles)
