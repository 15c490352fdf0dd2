"""ONNX exporters of the sequence layers (inputs (N, C, L), channels first like images); see onnx_layers.py.

conv1d, maxpool1d, avgpool1d: the 1-D forms of Conv, MaxPool, AveragePool. global_avgpool, global_maxpool:
GlobalAveragePool, GlobalMaxPool, then Flatten to (N, C). reshape: Reshape to (N, *shape). rnn, lstm, gru:
ONNX's RNN, LSTM and GRU operators, time-major: the input is transposed to (L, N, C); W (C, G*H) and
U (H, G*H) become ONNX's W (D, G*H, C) and R (D, G*H, H) with the gate blocks in ONNX's order (LSTM
i f g o -> i o f c; GRU r z n -> z r h, linear_before_reset=1 as PyTorch); our combined bias is ONNX's
input bias and the recurrent bias is zero, except GRU's b_hn, the candidate's recurrent bias.
"""

from __future__ import annotations

import numpy as np

GATE_ORDER = {"rnn": [0], "lstm": [0, 3, 1, 2], "gru": [1, 0, 2]}  # ONNX's blocks, as indices of ours
ONNX_OP = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def _conv1d(g, layer, x, name, in_shape):
    from backprop_cli.interop.onnx_layers import inner_activation  # at call time: no import cycle

    left, right = layer.pads
    inputs = [x, g.const(f"{name}.W", layer.params["W"])]
    if layer.use_bias:
        inputs.append(g.const(f"{name}.b", layer.params["b"]))
    attrs = {"kernel_shape": [layer.kernel_size], "strides": [layer.stride], "dilations": [layer.dilation]}
    z = g.op("Conv", inputs, f"{name}.z", pads=[left, right], **attrs)
    return inner_activation(g, layer, z, name, (layer.filters, layer.out_len))


def _pool1d(op: str):
    def export(g, layer, x, name, in_shape):
        k, s = layer.pool_size, layer.stride
        return g.op(op, [x], name, kernel_shape=[k], strides=[s]), (in_shape[0], layer.out_len)

    return export


def _global(op: str):
    def export(g, layer, x, name, in_shape):
        pooled = g.op(op, [x], f"{name}.pooled")  # (N, C, 1) or (N, C, 1, 1)
        return g.op("Flatten", [pooled], name, axis=1), (in_shape[0],)

    return export


def _reshape(g, layer, x, name, in_shape):
    shape = g.const(f"{name}.shape", [-1, *layer.out_shape], "int64")
    return g.op("Reshape", [x, shape], name), tuple(layer.out_shape)


def _gates(M: np.ndarray, kind: str, units: int) -> np.ndarray:
    """Our (rows, G*H) blocks in ONNX's gate order, transposed to (G*H, rows)."""
    blocks = [M[:, j * units : (j + 1) * units] for j in GATE_ORDER[kind]]
    return np.concatenate(blocks, axis=1).T


def _recurrent_weights(layer, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """W (D, G*H, C), R (D, G*H, H), B (D, 2*G*H) in ONNX's layout, from each direction's parameters."""
    h, Ws, Rs, Bs = layer.units, [], [], []
    for d in layer.directions:
        p = layer.params
        Ws.append(_gates(p[f"W{d}"], kind, h))
        Rs.append(_gates(p[f"U{d}"], kind, h))
        b_in = _gates(p[f"b{d}"][None, :], kind, h)[:, 0]
        b_rec = np.zeros_like(b_in)
        if kind == "gru":  # the candidate's recurrent bias: ONNX's Rbh, last of the z r h blocks
            b_rec[2 * h :] = p[f"b_hn{d}"]
        Bs.append(np.concatenate([b_in, b_rec]))
    return np.stack(Ws), np.stack(Rs), np.stack(Bs)


def _recurrent(g, layer, x, name, in_shape):
    kind, h, d = layer.kind, layer.units, len(layer.directions)
    W, R, B = _recurrent_weights(layer, kind)
    xt = g.op("Transpose", [x], f"{name}.time_major", perm=[2, 0, 1])  # (N, C, L) -> (L, N, C)
    attrs = {"hidden_size": h, "direction": "bidirectional" if d == 2 else "forward"}
    if kind == "rnn":
        attrs["activations"] = ["Tanh" if layer.activation == "tanh" else "Relu"] * d
    if kind == "gru":
        attrs["linear_before_reset"] = 1  # r multiplies (h U_n + b_hn), as in PyTorch and our GRU
    ys, y_last = g.fresh(f"{name}.Y"), g.fresh(f"{name}.Y_h")
    inputs = [xt, g.const(f"{name}.W_onnx", W), g.const(f"{name}.R_onnx", R), g.const(f"{name}.B_onnx", B)]
    g.node(ONNX_OP[kind], inputs, [ys, y_last], name, **attrs)
    if layer.return_sequences:  # Y (L, D, N, H) -> (N, D, H, L) -> (N, D*H, L): forward features first
        y = g.op("Transpose", [ys], f"{name}.batch_major", perm=[2, 1, 3, 0])
        shape = g.const(f"{name}.shape", [-1, d * h, layer.length], "int64")
        return g.op("Reshape", [y, shape], name), (d * h, layer.length)
    y = g.op("Transpose", [y_last], f"{name}.batch_major", perm=[1, 0, 2])  # Y_h (D, N, H) -> (N, D, H)
    return g.op("Reshape", [y, g.const(f"{name}.shape", [-1, d * h], "int64")], name), (d * h,)


SEQUENCE_EXPORTERS = {
    "conv1d": _conv1d,
    "maxpool1d": _pool1d("MaxPool"),
    "avgpool1d": _pool1d("AveragePool"),
    "global_avgpool": _global("GlobalAveragePool"),
    "global_maxpool": _global("GlobalMaxPool"),
    "reshape": _reshape,
    "rnn": _recurrent,
    "lstm": _recurrent,
    "gru": _recurrent,
}
