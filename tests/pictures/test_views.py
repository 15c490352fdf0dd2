"""`plot --view`: each picture drawn from a real run and read back; each refused where it does not apply."""

from __future__ import annotations

import io

import numpy as np
import pytest

from backprop_cli.errors import UserError
from backprop_cli.plot.views import ViewOptions, write_view
from tests.pictures.conftest import ADDITIONS, DIGITS_CNN, SINE, SPIRALS3, backprop, err, out, read_png, train


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    return {
        "spirals": train(tmp / "spirals", SPIRALS3.format(seed=0)),
        "spirals_other_seed": train(tmp / "other", SPIRALS3.format(seed=1)),
        "cnn": train(tmp / "cnn", DIGITS_CNN),
        "text": train(tmp / "text", ADDITIONS),
        "sine": train(tmp / "sine", SINE),
    }


def draw(run, view, tmp_path, **options):
    if view == "boundary":
        options.setdefault("epochs", "1,best")  # two frames: each costs a full render
    return write_view(run, view, tmp_path / f"{view}.png", ViewOptions(**options))


@pytest.mark.parametrize(
    "run, view",
    [
        ("spirals", "boundary"),
        ("spirals", "activations"),
        ("spirals", "confusion"),
        ("spirals", "roc"),
        ("spirals", "pr"),
        ("cnn", "filters"),
        ("cnn", "feature-maps"),
        ("cnn", "activations"),
        ("text", "attention"),
    ],
)
def test_each_view_draws_a_picture_of_a_real_run(runs, run, view, tmp_path):
    read_png(draw(runs[run], view, tmp_path))


def test_the_same_view_of_two_different_runs_differs(runs, tmp_path):
    a = read_png(write_view(runs["spirals"], "boundary", tmp_path / "a.png", ViewOptions(epochs="best")))
    b = read_png(write_view(runs["spirals_other_seed"], "boundary", tmp_path / "b.png", ViewOptions(epochs="best")))
    assert a.shape == b.shape and not np.array_equal(a, b)


def test_boundary_frames_are_the_kept_snapshots_and_best_by_default(runs):
    from backprop_cli.plot.boundary import frames_wanted
    from backprop_cli.plot.rundata import RunView
    from backprop_cli.runs.listing import open_run

    view = RunView(open_run(runs["spirals"]))
    snapshots = sorted(p.name for p in (runs["spirals"] / "snapshots").iterdir())
    assert snapshots == [f"epoch-{e:05d}.safetensors" for e in range(3)]  # auto: 2-D data, the initial weights too
    assert frames_wanted(view, None) == [0, 1, 2, "best"]
    assert frames_wanted(view, "2, 1,best") == [2, 1, "best"]
    with pytest.raises(UserError, match="no weight snapshot of epoch 9; this run kept epochs 0-2"):
        frames_wanted(view, "9")


def test_boundary_gif_has_one_frame_per_kept_epoch(runs, tmp_path):
    from PIL import Image

    path = write_view(runs["spirals"], "boundary", tmp_path / "b.gif", ViewOptions(gif=True))
    image = Image.open(io.BytesIO(path.read_bytes()))
    assert image.format == "GIF" and image.n_frames == 3


def test_snapshots_are_kept_for_2d_data_only_unless_asked(runs, tmp_path):
    assert not (runs["cnn"] / "snapshots").exists()
    asked = train(tmp_path, SINE, "output.snapshots=[1]")
    assert sorted(p.name for p in (asked / "snapshots").iterdir()) == ["epoch-00001.safetensors"]
    none = train(tmp_path / "none", SPIRALS3.format(seed=0), "output.snapshots=none")
    assert not (none / "snapshots").exists()


def test_a_snapshot_is_a_verified_checkpoint_that_eval_reads(runs):
    result = backprop("eval", str(runs["spirals"] / "snapshots" / "epoch-00002.safetensors"), "--json")
    assert result.returncode == 0, err(result)
    assert '"epoch": 2' in out(result)


@pytest.mark.parametrize(
    "run, view, message",
    [
        ("cnn", "boundary", "boundary needs 2 input features; this run has inputs of shape (1, 8, 8)"),
        ("text", "boundary", "boundary needs 2 input features; this run has 12"),
        ("spirals", "filters", "filters needs a conv2d layer; this run has none (its layers: dense)"),
        ("spirals", "feature-maps", "feature-maps needs a conv2d layer"),
        ("cnn", "attention", "attention needs an attention layer"),
        ("sine", "confusion", "confusion needs a classification run; this run has a regression task"),
        ("sine", "roc", "roc needs a classification run"),
        ("sine", "pr", "pr needs a classification run"),
    ],
)
def test_a_view_that_does_not_apply_says_why(runs, run, view, message, tmp_path):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        draw(runs[run], view, tmp_path)
    assert not (tmp_path / f"{view}.png").exists()


def test_activations_without_histograms_say_how_to_record_them(tmp_path):
    run = train(tmp_path, SINE, "diagnostics.histograms=false")
    assert not (run / "histograms.jsonl").exists()
    with pytest.raises(UserError, match="no activation histograms") as caught:
        draw(run, "activations", tmp_path)
    assert "diagnostics.histograms" in caught.value.fix


def test_the_cli_refuses_with_exit_2_and_one_message(runs):
    result = backprop("plot", str(runs["cnn"]), "--view", "boundary")
    assert result.returncode == 2
    assert err(result).startswith("error: ") and "boundary needs 2 input features" in err(result)
    assert "Traceback" not in err(result) and out(result) == ""


def test_the_cli_prints_the_picture_it_wrote(runs, tmp_path):
    result = backprop("plot", str(runs["spirals"]), "--view", "confusion", "-o", str(tmp_path / "r.png"))
    assert result.returncode == 0, err(result)
    assert out(result).strip() == str(tmp_path / "r.png")
    read_png(tmp_path / "r.png")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"view": "bondary"}, "did you mean 'boundary'?"),
        ({"view": "importance"}, "importance is a view of a sweep directory"),
        ({"view": "roc", "gif": True}, "--gif animates the boundary view only"),
        ({"view": "boundary", "gif": True, "output": "x.png"}, "an animation is written as a .gif"),
        ({"view": "boundary", "metric": "loss"}, "--metric is for learning curves"),
    ],
)
def test_bad_view_options_are_usage_errors(runs, options, message, tmp_path):
    from backprop_cli.cli.plot import plot

    given = {"output": None, "metric": None, "epochs": None, "gif": False, "prompt": None, "index": 0, **options}
    if given["output"]:
        given["output"] = tmp_path / given["output"]
    with pytest.raises(UserError, match=message):
        plot([runs["spirals"]], **given)
