"""`plot`: learning curves and gradient flow drawn on the Agg canvas, written atomically as a real image."""

from __future__ import annotations

import sys

import pytest

from backprop_cli.errors import UserError
from backprop_cli.plot.curves import NEEDS_MATPLOTLIB, available_metrics, build_figure, write_plot
from backprop_cli.runs.listing import open_run
from tests.runs_view.builders import config, write_run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def two_runs(tmp_path):
    a = write_run(tmp_path, "sigmoid", cfg=config(name="sigmoid"), epochs=5)
    b = write_run(tmp_path, "relu", cfg=config(name="relu"), epochs=3, scale=0.5)
    return [open_run(a), open_run(b)]


def _read_png(path):
    from matplotlib.image import imread

    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    image = imread(path)
    assert image.size > 0
    return image


def _legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_one_run_becomes_a_png_in_its_run_directory_by_default(two_runs):
    path = write_plot(two_runs[:1])
    assert path == two_runs[0].path / "plot.png"
    height, width, _ = _read_png(path).shape
    assert width > 800 and height > 600
    assert [p.name for p in two_runs[0].path.iterdir() if p.name.startswith(".")] == []  # no temp left behind


def test_the_figure_is_drawn_on_the_agg_canvas(two_runs):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    assert isinstance(build_figure(two_runs).canvas, FigureCanvasAgg)


def test_two_runs_share_the_curve_panels_and_each_gets_a_gradient_flow_panel(two_runs, tmp_path):
    fig = build_figure(two_runs)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["Loss", "Accuracy", "Learning rate", "Gradient flow in sigmoid: gradient norm per layer",
                      "Gradient flow in relu: gradient norm per layer"]  # fmt: skip
    loss, flow = fig.axes[0], fig.axes[3]
    assert {"sigmoid train", "sigmoid val", "relu train", "relu val"} <= set(_legend_texts(loss))
    assert _legend_texts(flow) == ["layer 0 dense sigmoid", "layer 2.0 dense relu", "layer 3 dense",
                                   "global (all layers)"]  # fmt: skip
    assert flow.get_yscale() == "log" and loss.get_yscale() == "linear"
    assert all(ax.get_xlabel() == "epoch" for ax in fig.axes)
    assert "sigmoid, relu" in fig.get_suptitle()
    _read_png(write_plot(two_runs, tmp_path / "both.png"))


def test_runs_with_the_same_name_are_told_apart_by_their_directories(tmp_path):
    a = write_run(tmp_path, "mlp", suffix="aaaa")
    b = write_run(tmp_path, "mlp", suffix="bbbb")
    labels = _legend_texts(build_figure([open_run(a), open_run(b)], metric="val_loss").axes[0])
    assert labels == ["mlp-20260101-120000-aaaa", "best epoch", "mlp-20260101-120000-bbbb"]


def test_one_metric_draws_only_that_metric(two_runs, tmp_path):
    fig = build_figure(two_runs, metric="val_accuracy")
    assert [ax.get_title() for ax in fig.axes] == ["Val accuracy"]
    assert _legend_texts(fig.axes[0]) == ["sigmoid", "relu"]
    path = write_plot(two_runs, metric="val_accuracy")
    assert path.name == "plot-val_accuracy.png"
    _read_png(path)


def test_loss_as_a_metric_draws_train_and_val(two_runs):
    fig = build_figure(two_runs, metric="loss")
    assert len(fig.axes) == 1 and len(_legend_texts(fig.axes[0])) == 5  # two runs x train/val, one best-epoch star


def test_a_per_layer_statistic_draws_one_panel_per_run(two_runs):
    fig = build_figure(two_runs, metric="dead_fraction")
    assert [ax.get_title() for ax in fig.axes] == ["sigmoid: dead fraction per layer", "relu: dead fraction per layer"]
    assert fig.axes[0].get_yscale() == "linear" and fig.axes[0].get_ylim()[1] == pytest.approx(1.02)


def test_a_loss_that_blew_up_is_drawn_on_a_log_scale(tmp_path):
    from backprop_cli.runs.metrics_log import append_metrics
    from tests.runs_view.builders import epoch_record

    run_dir = write_run(tmp_path, status=None, epochs=0)
    for epoch, loss in enumerate([2.5e7, 30.0, 20.0], start=1):
        append_metrics(run_dir / "metrics.jsonl", {**epoch_record(epoch), "train_loss": loss})
    assert build_figure([open_run(run_dir)], metric="loss").axes[0].get_yscale() == "log"


def test_the_metrics_on_offer_are_what_the_runs_recorded(two_runs):
    offered = available_metrics(two_runs)
    assert offered[:2] == ["loss", "accuracy"]
    assert {"val_loss", "lr", "grad_norm", "epoch_time_s", "layers.grad_norm", "layers.dead_fraction"} <= set(offered)
    assert "epoch" not in offered and "layers.saturated_fraction" not in offered  # always null in these runs


def test_an_unknown_metric_is_a_user_error_with_a_suggestion(two_runs):
    with pytest.raises(UserError, match="did you mean 'val_loss'"):
        build_figure(two_runs, metric="val_los")


def test_runs_that_have_not_finished_an_epoch_have_nothing_to_plot(tmp_path):
    run = open_run(write_run(tmp_path, status=None, epochs=0))
    with pytest.raises(UserError, match="no epoch has finished yet"):
        build_figure([run])


def test_a_run_without_layer_statistics_still_gets_its_curves(tmp_path):
    from backprop_cli.runs.metrics_log import append_metrics
    from tests.runs_view.builders import epoch_record

    run_dir = write_run(tmp_path, status=None, epochs=0)
    for epoch in (1, 2):
        append_metrics(run_dir / "metrics.jsonl", {k: v for k, v in epoch_record(epoch).items() if k != "layers"})
    fig = build_figure([open_run(run_dir)])
    assert [ax.get_title() for ax in fig.axes] == ["Loss", "Accuracy", "Learning rate"]
    assert fig.get_suptitle().startswith("Learning curves: ")


def test_an_svg_is_written_when_asked_for_and_an_unknown_suffix_is_refused(two_runs, tmp_path):
    assert write_plot(two_runs, tmp_path / "curves.svg", "val_loss").read_text().lstrip().startswith("<?xml")
    with pytest.raises(UserError, match="name the output FILE.png"):
        write_plot(two_runs, tmp_path / "curves.jpeg")
    with pytest.raises(UserError, match="no such directory"):
        write_plot(two_runs, tmp_path / "missing" / "curves.png")


def test_without_matplotlib_plotting_says_how_to_install_it(two_runs, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an environment without the extra sees
    with pytest.raises(UserError) as err:
        write_plot(two_runs)
    assert str(err.value) == NEEDS_MATPLOTLIB == "plotting needs matplotlib: pip install 'backprop-cli[plot]'"


def test_layer_names_with_superscript_digits_in_a_hand_edited_log_still_plot(tmp_path):
    from backprop_cli.runs.metrics_log import append_metrics
    from tests.runs_view.builders import epoch_record

    run_dir = write_run(tmp_path, status=None, epochs=0)
    for epoch in (1, 2):
        record = epoch_record(epoch)
        record["layers"]["1.²"] = {"dead_fraction": 0.25}
        append_metrics(run_dir / "metrics.jsonl", record)
    fig = build_figure([open_run(run_dir)], metric="dead_fraction")
    assert any("1.²" in line.get_label() for ax in fig.axes for line in ax.get_lines())
