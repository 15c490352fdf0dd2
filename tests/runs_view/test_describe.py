"""`runs show` as data: the config in brief, the outcome, warnings, and a loss sparkline."""

from __future__ import annotations

import pytest

from backprop_cli.runs.describe import SPARK_BLOCKS, config_summary, describe_layer, show_run, sparklines
from backprop_cli.runs.listing import open_run
from tests.runs_view.builders import BASE_CONFIG


def test_a_falling_series_sparkles_from_the_highest_block_to_the_lowest():
    assert sparklines({"loss": [8, 4, 2, 1, 0]})["loss"] == "█▅▃▂▁"


def test_train_and_val_sparklines_share_one_scale():
    lines = sparklines({"train_loss": [1.0, 0.5], "val_loss": [2.0, 1.0]})
    assert lines["train_loss"][0] == lines["val_loss"][1]  # the same value draws the same block
    assert (lines["train_loss"][1], lines["val_loss"][0]) == ("▁", "█")


def test_a_missing_value_is_a_gap_and_a_constant_series_is_flat():
    assert sparklines({"val_loss": [1.0, None, float("nan"), 0.0]})["val_loss"] == "█  ▁"
    assert sparklines({"loss": [0.3, 0.3, 0.3]})["loss"] == "▁▁▁"
    assert sparklines({"loss": [None, None]})["loss"] == "  "


def test_a_long_series_is_averaged_down_to_the_sparkline_width():
    line = sparklines({"loss": list(range(600, 0, -1))}, width=60)["loss"]
    assert len(line) == 60 and line[0] == SPARK_BLOCKS[-1] and line[-1] == SPARK_BLOCKS[0]


@pytest.mark.parametrize(
    "spec, text",
    [
        ({"type": "dense", "units": 64, "activation": "relu", "init": "he_normal", "init_scale": 0.05,
          "use_bias": True}, "dense 64 relu he_normal"),
        ({"type": "dense", "units": 10, "activation": None, "init": "normal", "init_scale": 0.01},
         "dense 10 normal init_scale=0.01"),
        ({"type": "dropout", "rate": 0.2}, "dropout rate=0.2"),
        ({"type": "batchnorm", "momentum": 0.9, "eps": 1e-5}, "batchnorm"),
        ({"type": "residual", "layers": [{"type": "dense", "units": 8, "activation": "relu"}, {"type": "relu"}]},
         "residual[dense 8 relu, relu]"),
    ],
)  # fmt: skip
def test_a_layer_is_described_in_one_line_without_its_defaults(spec, text):
    assert describe_layer(spec) == text


def test_the_config_summary_names_layers_loss_optimizer_schedule_and_batch():
    brief = config_summary(BASE_CONFIG)
    assert brief["layers"] == ["dense 64 sigmoid xavier_normal", "dropout rate=0.2", "residual[dense 64 relu]",
                               "dense 10"]  # fmt: skip
    assert brief["loss"] == "cross_entropy"
    assert brief["optimizer"] == "adam lr=0.001 beta1=0.9 beta2=0.999 eps=1e-08"
    assert (brief["schedule"], brief["regularization"], brief["early_stopping"]) == ("cosine", "l2=0.0001", "none")
    assert (brief["epochs"], brief["batch_size"], brief["data"]) == (
        5,
        32,
        "digits validation_split=0.2 scale=standard",
    )


def test_an_empty_config_summarizes_without_failing():
    assert config_summary({})["layers"] == [] and config_summary({})["optimizer"] == "none"


def test_show_gives_final_best_and_test_metrics_warnings_and_the_loss_sparklines(runs_dir):
    data = show_run(open_run(runs_dir / "sigmoid-20260101-090000-ab12"))
    assert (data["status"], data["stop_reason"], data["epochs_run"]) == ("early_stopped", "patience ran out", 4)
    assert data["final"]["epoch"] == 4 and data["final"]["val_accuracy"] == pytest.approx(0.95 - 2 * 0.6**4 / 3)
    assert data["best_epoch"] == 4 and list(data["best"]) == ["val_loss"]
    assert data["test"] is None
    assert data["warnings"] == ["vanishing gradients in layer 0"]
    assert data["config"]["optimizer"].startswith("adam lr=0.01 ")
    assert set(data["sparklines"]) == {"train_loss", "val_loss"}
    assert all(len(line) == 4 for line in data["sparklines"].values())
    assert data["sparklines"]["val_loss"][0] == "█" and data["sparklines"]["train_loss"][-1] == "▁"


def test_show_of_a_run_killed_mid_line_uses_the_whole_lines_only(runs_dir):
    data = show_run(open_run(runs_dir / "torn-20260103-090000-ab12"))
    assert data["final"]["epoch"] == 3 and len(data["loss_history"]["train_loss"]) == 3


def test_warnings_come_from_the_epoch_records_when_there_is_no_summary(tmp_path):
    from backprop_cli.runs.metrics_log import append_metrics
    from tests.runs_view.builders import epoch_record, write_run

    run_dir = write_run(tmp_path, status=None, epochs=1)
    for epoch, warning in ((2, "dead relu units in layer 2.0"), (3, "dead relu units in layer 2.0")):
        append_metrics(run_dir / "metrics.jsonl", {**epoch_record(epoch), "warnings": [warning]})
    assert show_run(open_run(run_dir))["warnings"] == ["dead relu units in layer 2.0"]


def test_a_loss_that_spans_decades_sparkles_on_a_log_scale():
    from backprop_cli.runs.describe import spans_decades

    blow_up = [1e4, 100.0, 10.0, 1.0]
    assert spans_decades(blow_up) and not spans_decades([2.3, 0.1]) and not spans_decades([5.0, 0.0, 1e-6])
    assert sparklines({"loss": blow_up})["loss"] == "█▁▁▁"  # linear: the blow-up flattens the rest
    assert sparklines({"loss": blow_up}, log=True)["loss"] == "█▅▃▁"


def test_show_picks_the_log_scale_for_a_loss_that_blew_up(tmp_path):
    from backprop_cli.runs.metrics_log import append_metrics
    from tests.runs_view.builders import epoch_record, write_run

    run_dir = write_run(tmp_path, status=None, epochs=0)
    for epoch, loss in enumerate([1e4, 100.0, 10.0, 1.0], start=1):
        append_metrics(run_dir / "metrics.jsonl", {**epoch_record(epoch), "train_loss": loss, "val_loss": None})
    data = show_run(open_run(run_dir))
    assert (data["sparkline_scale"], data["sparklines"]) == ("log", {"train_loss": "█▅▃▁"})
