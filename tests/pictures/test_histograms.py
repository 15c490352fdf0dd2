"""Histograms of z, y and dy per layer: equal to NumPy's on the very tensors of the sampled step, written
at the monitor's samples, trimmed on resume; the taps leave the layers as they found them."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.config.load import load_config
from backprop_cli.diagnostics.histograms import BINS, HistogramTaps, edges, histogram
from backprop_cli.diagnostics.layer_stats import watch
from backprop_cli.diagnostics.taps import Tap, Taps
from backprop_cli.runs.histogram_log import append_sample, drop_after, read_histograms
from backprop_cli.runs.metrics_log import read_metrics
from backprop_cli.teach.hooks import recording
from backprop_cli.train.setup import build_parts
from tests.pictures.conftest import SPIRALS3, train

# tanh inside dense, a standalone relu after a batchnorm, a linear output: the three ways a layer meets its activation
MIXED = """name: mixed
seed: 3
data: {dataset: spirals, classes: 3, validation_split: 0.2, n_samples: 120}
model:
  layers:
    - {type: dense, units: 12, activation: tanh}
    - {type: dense, units: 10}
    - {type: batchnorm}
    - {type: relu}
    - {type: dense, units: 3}
training: {epochs: 3, batch_size: 16}
"""


def _numpy(a) -> dict:
    counts, bin_edges = np.histogram(np.asarray(a).reshape(-1), bins=BINS)
    return {"lo": float(bin_edges[0]), "hi": float(bin_edges[-1]), "counts": counts.tolist(), "nonfinite": 0}


def test_each_histogram_equals_numpys_on_the_tensors_of_the_sampled_step(tmp_path):
    path = tmp_path / "mixed.yaml"
    path.write_text(MIXED)
    parts = build_parts(load_config(path).config)
    model, trainer = parts.model, parts.trainer
    taps = HistogramTaps(model, watch(model))
    x, y = parts.data.x_train[:16], parts.data.y_train[:16]
    with recording(model) as records, taps.taps:  # an independent copy of every tensor of the same step
        trainer.train_step(x, y)
    sample = taps.take()
    assert sorted(sample) == ["0", "1", "2", "4"]  # the layers with parameters, as the monitor names them
    tanh, relu = records["0.act"], records["3"]
    assert sample["0"] == {"z": _numpy(tanh.x), "y": _numpy(tanh.y), "dy": _numpy(tanh.dy)}
    assert sample["1"] == {"y": _numpy(records["1"].y), "dy": _numpy(records["1"].dy)}
    assert sample["2"] == {"z": _numpy(relu.x), "y": _numpy(relu.y), "dy": _numpy(relu.dy)}  # batchnorm's relu
    assert sample["4"] == {"y": _numpy(records["4"].y), "dy": _numpy(records["4"].dy)}
    assert sum(sample["0"]["z"]["counts"]) == 16 * 12


def test_the_stored_range_gives_numpys_bin_edges():
    a = np.random.default_rng(0).standard_normal(1000)
    h = histogram(a)
    np.testing.assert_array_equal(edges(h), np.histogram(a, bins=BINS)[1])


def test_non_finite_values_are_counted_apart():
    h = histogram(np.array([1.0, np.inf, 2.0, np.nan, 3.0]))
    assert h["nonfinite"] == 2 and sum(h["counts"]) == 3 and (h["lo"], h["hi"]) == (1.0, 3.0)
    assert histogram(np.array([np.nan]))["counts"] == []


def test_one_sample_a_epoch_at_the_step_of_the_monitors_statistics(tmp_path):
    run = train(tmp_path, MIXED)
    samples, records = read_histograms(run / "histograms.jsonl"), read_metrics(run / "metrics.jsonl")
    assert [(s["epoch"], s["step"]) for s in samples] == [(r["epoch"], r["step"]) for r in records]
    assert all(set(s["layers"]) == set(r["layers"]) for s, r in zip(samples, records))


def test_every_n_steps_samples_match_the_monitors_per_step_samples(tmp_path):
    run = train(tmp_path, MIXED, "diagnostics.monitor_every_n_steps=2")
    steps = [s["step"] for s in read_histograms(run / "histograms.jsonl")]
    monitored = sorted(
        {r["step"] for r in read_metrics(run / "metrics.jsonl")}
        | {s["step"] for r in read_metrics(run / "metrics.jsonl") for s in r.get("layers_by_step", [])}
    )
    assert steps == monitored and len(steps) > 3


def test_a_run_leaves_no_tap_on_its_layers(tmp_path):
    path = tmp_path / "mixed.yaml"
    path.write_text(MIXED)
    parts = build_parts(load_config(path).config)
    layer = parts.model.layers[0]
    with Taps([Tap(layer, on_forward=lambda x, y: None)]), Taps([Tap(layer, on_backward=lambda dy, dx: None)]):
        assert "forward" in vars(layer) and "backward" in vars(layer)
    assert "forward" not in vars(layer) and "backward" not in vars(layer)


def test_resume_drops_the_samples_after_the_checkpoint_and_a_torn_line(tmp_path):
    path = tmp_path / "histograms.jsonl"
    for step in (5, 10, 15):
        append_sample(path, {"epoch": step // 5, "step": step, "bins": BINS, "layers": {}})
    with path.open("a") as f:
        f.write('{"epoch": 4, "step": 2')  # torn by a crash
    drop_after(path, 10)
    assert [s["step"] for s in read_histograms(path)] == [5, 10]
    assert path.read_text().endswith("}\n")


def test_an_interrupted_and_resumed_run_has_each_sample_once(tmp_path):
    from backprop_cli.train.callbacks import Callback
    from backprop_cli.train.resume import prepare_resume
    from backprop_cli.train.session import RunOptions, run_training

    class StopAfter(Callback):
        def on_batch_end(self, trainer, loss):
            if trainer.epoch == 1 and trainer.batch_in_epoch == 2:  # mid-epoch 2 (4 batches an epoch)
                trainer.request_stop("test", "interrupted")

    path = tmp_path / "c.yaml"
    path.write_text(SPIRALS3.format(seed=0).replace("epochs: 2", "epochs: 3"))
    config = load_config(path).config
    options = RunOptions(runs_dir=str(tmp_path / "runs"), threads=1)
    first = run_training(config, RunOptions(**{**vars(options), "extra_callbacks": [StopAfter()]})).run_dir
    assert [s["step"] for s in read_histograms(first / "histograms.jsonl")] == [4]
    with (first / "histograms.jsonl").open("a") as f:  # as if the killed run had sampled past its checkpoint
        f.write('{"epoch": 2, "step": 7, "bins": 32, "layers": {}}\n')
    run_training(config, options, resume=prepare_resume(first, None))
    assert [s["step"] for s in read_histograms(first / "histograms.jsonl")] == [4, 8, 12]


@pytest.mark.parametrize("setting", ["none", "[1]", "{every: 2}"])
def test_snapshot_settings_are_read(setting, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(MIXED + f"output: {{snapshots: {setting}}}\n")
    assert load_config(path).config.output.snapshots is not None
