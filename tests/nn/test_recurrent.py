"""rnn, lstm, gru: exact BPTT gradients, the textbook equations step by step, and PyTorch's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.nn.model import build_model, estimate_param_count
from backprop_cli.nn.recurrent.gru import GRU
from backprop_cli.nn.recurrent.lstm import LSTM
from backprop_cli.nn.recurrent.rnn import SimpleRNN
from tests.torch_recorded import case, recorded

CELLS = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}
C, H = 2, 3


def built(kind, rng, length, dtype=np.float64, scale=0.5, **kwargs):
    """A layer for (C, length) inputs with every parameter random (biases too), so no term hides at zero."""
    layer = CELLS[kind](H, **kwargs)
    layer.build((C, length), rng, dtype)
    for p in layer.params.values():
        p[...] = scale * rng.standard_normal(p.shape)
    return layer


# every cell at L = 1 and L = 6, batch 1 and 3, return_sequences on and off, bidirectional on and off
CASES = [
    (kind, length, n, seq, bi)
    for kind in CELLS
    for length, n in ((1, 3), (6, 1), (6, 3))
    for seq in (False, True)
    for bi in (False, True)
]


@pytest.mark.parametrize("kind, length, n, seq, bi", CASES)
def test_backpropagation_through_time_matches_finite_differences(kind, length, n, seq, bi, rng, gradients_match):
    layer = built(kind, rng, length, return_sequences=seq, bidirectional=bi)
    entries = gradients_match(layer, rng.standard_normal((n, C, length)), rng)
    names = {e.name for e in entries}
    assert {"W", "U", "b", "x"} <= names and (("W_reverse" in names) == bi)


def test_a_relu_rnn_backpropagates_exactly(rng, gradients_match):
    layer = built("rnn", rng, 5, activation="relu", return_sequences=True)
    gradients_match(layer, rng.standard_normal((3, C, 5)), rng)


def test_a_long_sequence_and_a_wider_layer_stay_exact(rng, gradients_match):
    layer = GRU(4, bidirectional=True)
    layer.build((3, 12), rng, np.float64)
    gradients_match(layer, rng.standard_normal((2, 3, 12)), rng)


# ---- the textbook equations, written out one example and one step at a time --------------------------


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def reference_step(kind, p, x_t, h, c, activation="tanh"):
    """One step of one example; p holds the gate blocks split out of W (C, G*H), U (H, G*H), b."""
    W, U, b = p["W"], p["U"], p["b"]
    blocks = [slice(k * H, (k + 1) * H) for k in range(W.shape[1] // H)]

    def pre(k):
        return x_t @ W[:, blocks[k]] + h @ U[:, blocks[k]] + b[blocks[k]]

    if kind == "rnn":
        a = pre(0)
        return (np.tanh(a) if activation == "tanh" else np.maximum(a, 0.0)), c
    if kind == "lstm":
        i, f, g, o = sigmoid(pre(0)), sigmoid(pre(1)), np.tanh(pre(2)), sigmoid(pre(3))
        c = f * c + i * g
        return o * np.tanh(c), c
    r, z = sigmoid(pre(0)), sigmoid(pre(1))
    n = np.tanh(x_t @ W[:, blocks[2]] + b[blocks[2]] + r * (h @ U[:, blocks[2]] + p["b_hn"]))
    return (1.0 - z) * n + z * h, c


def reference(layer, kind, x):
    """(N, D*H) or (N, D*H, L) by loops over examples, directions and steps."""
    n, _, length = x.shape
    out = np.zeros((n, len(layer.directions) * H, length))
    last = np.zeros((n, len(layer.directions) * H))
    for j, d in enumerate(layer.directions):
        p = {k[: len(k) - len(d)]: v for k, v in layer.params.items() if k.endswith(d) and (d or "reverse" not in k)}
        steps = range(length) if d == "" else range(length - 1, -1, -1)
        for e in range(n):
            h, c = np.zeros(H), np.zeros(H)
            for t in steps:
                h, c = reference_step(kind, p, x[e, :, t], h, c, getattr(layer, "activation", "tanh"))
                out[e, j * H : (j + 1) * H, t] = h
            last[e, j * H : (j + 1) * H] = h
    return out if layer.return_sequences else last


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("seq, bi", [(False, False), (True, False), (False, True), (True, True)])
def test_forward_equals_the_textbook_equations_step_by_step(kind, seq, bi, rng):
    layer = built(kind, rng, 5, return_sequences=seq, bidirectional=bi)
    x = rng.standard_normal((3, C, 5))
    np.testing.assert_allclose(layer.forward(x, training=False), reference(layer, kind, x), rtol=1e-12, atol=1e-12)


def test_a_relu_rnn_equals_its_textbook_equation(rng):
    layer = built("rnn", rng, 4, activation="relu", return_sequences=True)
    x = rng.standard_normal((2, C, 4))
    np.testing.assert_allclose(layer.forward(x, training=False), reference(layer, "rnn", x), rtol=1e-12, atol=1e-12)


# ---- PyTorch, given the same weights (its numbers recorded in tests/fixtures/torch) --------------------


def recorded_layer(kind, prefix, length):
    """Our layer holding the recorded weights, and the recorded case (tests/fixtures/make_torch_fixtures.py)."""
    numbers = case(recorded("recurrent_layers"), prefix)
    bi = "W_reverse" in numbers
    layer = CELLS[kind](H, return_sequences=prefix != "lstm-last", bidirectional=bi)
    layer.build((C, length), np.random.default_rng(0), np.float32)
    for name in layer.params:
        layer.params[name][...] = numbers[name]
    return layer, numbers


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("bi", [0, 1])
def test_outputs_and_gradients_equal_pytorchs_with_the_same_weights(kind, bi):
    layer, numbers = recorded_layer(kind, f"{kind}-{bi}", 7)
    y = layer.forward(numbers["x"], training=True)
    np.testing.assert_allclose(y, numbers["y"], rtol=1e-5, atol=1e-5)
    dx = layer.backward(numbers["dy"])
    np.testing.assert_allclose(dx, numbers["dx"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.grads["U"], numbers["dU"], rtol=1e-4, atol=1e-5)


def test_the_last_state_is_pytorchs_final_hidden_state_in_both_directions():
    layer, numbers = recorded_layer("lstm", "lstm-last", 6)
    np.testing.assert_allclose(layer.forward(numbers["x"], training=False), numbers["y"], rtol=1e-5, atol=1e-6)


# ---- initialization, names, shapes ------------------------------------------------------------------


def test_lstm_forget_bias_starts_at_one_and_recurrent_blocks_are_orthogonal(rng):
    layer = LSTM(8)
    layer.build((3, 5), rng, np.float64)
    b = layer.params["b"]
    np.testing.assert_array_equal(b[8:16], 1.0)
    assert not np.any(b[:8]) and not np.any(b[16:])
    for k in range(4):
        block = layer.params["U"][:, 8 * k : 8 * (k + 1)]
        np.testing.assert_allclose(block.T @ block, np.eye(8), atol=1e-12)


def test_checkpoint_names_are_w_u_b_with_reverse_for_the_backward_direction(rng):
    model = build_model(
        [{"type": "gru", "units": 4, "bidirectional": True}, {"type": "dense", "units": 2}], (3, 5), rng
    )
    names = {name: p.shape for name, p, _ in model.named_params()}
    assert names == {
        "0.W": (3, 12), "0.U": (4, 12), "0.b": (12,), "0.b_hn": (4,),
        "0.W_reverse": (3, 12), "0.U_reverse": (4, 12), "0.b_reverse": (12,), "0.b_hn_reverse": (4,),
        "1.W": (8, 2), "1.b": (2,),
    }  # fmt: skip
    assert (
        estimate_param_count(
            [{"type": "gru", "units": 4, "bidirectional": True}, {"type": "dense", "units": 2}], (3, 5)
        )
        == model.param_count
    )


@pytest.mark.parametrize(
    "spec, out",
    [
        ({"type": "lstm", "units": 4}, (4,)),
        ({"type": "lstm", "units": 4, "return_sequences": True}, (4, 5)),
        ({"type": "rnn", "units": 4, "bidirectional": True}, (8,)),
        ({"type": "gru", "units": 4, "bidirectional": True, "return_sequences": True}, (8, 5)),
    ],
)
def test_output_shapes_and_parameter_estimates(spec, out, rng):
    model = build_model([spec], (3, 5), rng)
    assert model.output_shape == out
    assert estimate_param_count([spec], (3, 5)) == model.param_count


def test_the_weights_are_penalized_and_the_biases_are_not():
    assert LSTM(3, bidirectional=True).regularized == ("W", "U", "W_reverse", "U_reverse")


def test_float32_stays_float32(rng):
    layer = built("lstm", rng, 4, dtype=np.float32, return_sequences=True)
    y = layer.forward(rng.standard_normal((2, C, 4)).astype(np.float32), training=True)
    assert y.dtype == np.float32 and layer.backward(np.ones_like(y)).dtype == np.float32


def test_time_grad_norm_shows_the_gradient_reaching_the_first_middle_and_last_step(rng):
    layer = built("rnn", rng, 9, scale=0.1)  # small recurrent weights: the gradient shrinks going back
    y = layer.forward(rng.standard_normal((3, C, 9)), training=True)
    layer.backward(np.ones_like(y))
    norms = layer.time_grad_norm
    assert set(norms) == {"first", "middle", "last"}
    assert norms["last"] == pytest.approx(np.sqrt(y.size))  # dL/dh_L is dy itself
    assert norms["first"] < norms["middle"] < norms["last"]


def test_explain_and_flops_describe_the_layer(rng):
    for kind in CELLS:
        layer = built(kind, rng, 5)
        text = layer.explain()
        assert text["forward"] and text["backward"]
        fwd, bwd = layer.flops(8)
        gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
        assert fwd >= 2 * 8 * 5 * (C + H) * gates * H and bwd > fwd
