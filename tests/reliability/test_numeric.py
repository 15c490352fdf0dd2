"""A loss that becomes inf/NaN stops the run (exit 1, status diverged,
the last finite checkpoint kept), exploding but finite gradients are clipped as configured without
NumPy warning spam, and extreme but finite inputs give finite losses and gradients.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backprop_cli.nn.losses import build_loss
from backprop_cli.nn.model import build_model
from backprop_cli.runs.checkpoint import load_checkpoint

from .helpers import backprop, metrics, only_run, run_all, summary

NOISE = ("RuntimeWarning", "overflow encountered", "invalid value encountered", "Traceback")


def strict_json(path):
    """Parse rejecting NaN and Infinity, which are not JSON."""
    return json.loads(path.read_text(), parse_constant=lambda name: pytest.fail(f"{path.name} holds {name}"))


# ---- 28: the loss becomes inf or NaN -----------------------------------------------------------------
def test_divergence_stops_the_run_exit_1_keeps_the_last_finite_checkpoint_and_writes_no_nan(configs, tmp_path):
    ramp = ("--set", "optimizer.lr=50", "--set", "schedule.type=warmup_cosine", "--set", "schedule.warmup_epochs=80")
    result = backprop("train", configs["sine"], "--runs-dir", tmp_path, "--threads", "1", *ramp)
    assert result.returncode == 1, result.stderr
    run = only_run(tmp_path)
    assert not any(noise in result.stderr for noise in NOISE), result.stderr
    assert "diverged at epoch 2 step" in result.stderr
    assert "last finite checkpoint: epoch 1; lower `optimizer.lr` (50.0) or set `regularization.grad_clip_norm`" in (
        result.stderr
    )
    state = summary(run)
    assert state["status"] == "diverged" and state["stop_reason"].startswith("diverged at epoch 2 step")
    last = load_checkpoint(run / "checkpoints" / "last.safetensors")  # refuses non-finite tensors itself
    assert last.meta["epoch"] == 1
    assert all(np.isfinite(t).all() for t in last.tensors.values() if t.dtype.kind == "f")
    assert [m["epoch"] for m in metrics(run)] == [1]  # strictly parsed: null, never NaN
    strict_json(run / "summary.json")


# ---- 29: exploding but finite gradients ---------------------------------------------------------------
BIG_TARGETS = """\
name: big
seed: 0
data: {{path: big.csv, target: out, validation_split: 0.0, scale_target: false}}
model:
  layers:
    - {{type: dense, units: 32, activation: tanh}}
    - {{type: dense, units: 32, activation: tanh}}
    - {{type: dense, units: 1}}
loss: mse
optimizer: {{type: sgd, lr: 0.01}}
regularization: {{grad_clip_norm: {clip}}}
training: {{epochs: 3, batch_size: 16}}
"""


def displacement(config_path, run) -> tuple[float, int]:
    """How far training moved the weights from their initial values (the seed rebuilds those), and in how
    many steps."""
    from backprop_cli.config.load import load_config
    from backprop_cli.train.setup import build_parts

    model = build_parts(load_config(config_path).config).model
    start = model.flat_params.copy()
    last = load_checkpoint(run / "checkpoints" / "last.safetensors")
    model.load_state_tensors(last.section("model"))
    return float(np.linalg.norm(model.flat_params - start)), last.meta["step"]


def test_exploding_gradients_are_clipped_as_configured_and_never_spam_numpy_warnings(tmp_path):
    x = np.random.default_rng(0).uniform(-1, 1, size=(200, 3))
    y = 1e4 * x.sum(axis=1)  # unscaled targets: gradients of 1e4 and more from the first step
    np.savetxt(tmp_path / "big.csv", np.column_stack([x, y]), delimiter=",", header="a,b,c,out", comments="")
    (tmp_path / "clipped.yaml").write_text(BIG_TARGETS.format(clip=1.0))
    (tmp_path / "unclipped.yaml").write_text(BIG_TARGETS.format(clip="null"))
    clipped, unclipped = run_all(
        [
            ("train", "clipped.yaml", "--runs-dir", "a", "--threads", "1"),
            ("train", "unclipped.yaml", "--runs-dir", "b", "--threads", "1"),
        ],
        cwd=tmp_path,
    )
    for result in (clipped, unclipped):
        assert result.returncode in (0, 1), result.stderr  # 1: the divergence guard stopped it, once
        assert not any(noise in result.stderr for noise in NOISE), result.stderr
    assert clipped.returncode == 0
    warned = [line for line in clipped.stderr.splitlines() if "exploding gradients" in line]
    assert len(warned) == 1  # once, not once per step
    assert "the gradient norm is" in warned[0] and "largest in layer" in warned[0]
    assert "grad_clip_norm is 1 already" in warned[0]  # the suggestion is what is left to try, not the clip
    logged = metrics(only_run(tmp_path / "a"))
    assert [m["epoch"] for m in logged] == [1, 2, 3]
    assert all(np.isfinite(m["train_loss"]) for m in logged)
    assert min(m["grad_norm"] for m in logged) > 100  # the norm before clipping: it did explode
    # plain SGD with the global norm clipped to 1 moves the weights at most lr * 1 per step
    moved, steps = displacement(tmp_path / "clipped.yaml", only_run(tmp_path / "a"))
    assert 0 < moved <= steps * 0.01 * (1 + 1e-5)
    if unclipped.returncode == 0:
        moved, steps = displacement(tmp_path / "unclipped.yaml", only_run(tmp_path / "b"))
        assert moved > steps * 0.01  # without the clip the same run moves further: the clip did the work


# ---- 30: extreme but finite inputs ---------------------------------------------------------------------
def test_features_of_1e4_train_to_a_finite_loss_and_predict_finite_probabilities(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.choice([-1e4, 1e4], size=(120, 2)) * rng.uniform(0.5, 1, size=(120, 2))
    y = (x[:, 0] > 0).astype(int)
    np.savetxt(
        tmp_path / "huge.csv",
        np.column_stack([x, y]),
        delimiter=",",
        header="a,b,label",
        comments="",
        fmt=["%.3f", "%.3f", "%d"],
    )
    (tmp_path / "rows.csv").write_text("a,b\n1e4,-1e4\n-1e30,1e30\n0,0\n")
    for scale in ("none", "standard"):
        (tmp_path / f"{scale}.yaml").write_text(
            f"name: {scale}\nseed: 0\ndata: {{path: huge.csv, target: label, validation_split: 0.2, scale: {scale}}}\n"
            "model: {layers: [{type: dense, units: 16, activation: relu}, {type: dense, units: 2}]}\n"
            "optimizer: {type: adam, lr: 0.001}\ntraining: {epochs: 2, batch_size: 16}\n"
        )
    unscaled, scaled = run_all(
        [("train", f"{s}.yaml", "--runs-dir", s, "--threads", "1", "--quiet") for s in ("none", "standard")],
        cwd=tmp_path,
    )
    for result, scale in ((unscaled, "none"), (scaled, "standard")):
        assert result.returncode == 0, result.stderr
        assert not any(noise in result.stderr for noise in NOISE), result.stderr
        for record in metrics(only_run(tmp_path / scale)):
            assert np.isfinite(record["train_loss"]) and np.isfinite(record["val_loss"])
    predicted = backprop("predict", only_run(tmp_path / "none"), tmp_path / "rows.csv", "--proba")
    assert predicted.returncode == 0, predicted.stderr
    assert not any(noise in predicted.stderr for noise in NOISE), predicted.stderr
    table = np.loadtxt(predicted.stdout.splitlines()[1:], delimiter=",")
    assert np.isfinite(table).all() and np.allclose(table.sum(axis=1), 1, atol=1e-4)


LAYERS = st.sampled_from(["relu", "tanh", "sigmoid", "gelu", "elu", "leaky_relu"])


@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(np.float64, (8, 3), elements=st.floats(-1e4, 1e4)),
    activation=LAYERS,
    loss=st.sampled_from(["cross_entropy", "binary_cross_entropy", "mse", "mae", "huber"]),
    seed=st.integers(0, 2**16),
)
def test_inputs_up_to_1e4_give_a_finite_loss_and_finite_gradients_without_overflow(x, activation, loss, seed):
    rng = np.random.default_rng(seed)
    outputs = {"cross_entropy": 3, "binary_cross_entropy": 1}.get(loss, 2)
    layers = [{"type": "dense", "units": 16, "activation": activation}, {"type": "dense", "units": outputs}]
    model = build_model(layers, (3,), rng, "float64")
    objective = build_loss(loss)
    if loss == "cross_entropy":
        target = rng.integers(0, 3, size=8)
    elif loss == "binary_cross_entropy":
        target = rng.integers(0, 2, size=8)
    else:
        target = rng.uniform(-1, 1, size=(8, outputs))
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # any overflow inside fails the test
        value = objective.forward(model.forward(x, training=True), target)
        model.backward(objective.backward())
    assert np.isfinite(value)
    assert np.isfinite(model.flat_grads).all()
