"""ONNX exporters of the language layers, on sequences (N, C, L) and token ids (N, L); see onnx_layers.py.

embedding: the ids arrive as floats (the model's input dtype), so Round (half to even, as np.rint), Cast to
int64, Gather the rows of W, and Transpose (N, L, dim) -> (N, dim, L). positional: Add the table's first L
columns. layernorm: LayerNormalization over the features, between transposes for (N, C, L). attention:
ONNX has no operator for it before opset 23, so it is written out (the documented decomposition):
  xt = Transpose(x) (N, L, D);  Q = xt Wq + bq, K = xt Wk, V = xt Wv + bv;  each split into heads
  (N, H, L, d_h);  P = Softmax(Q Kᵀ / sqrt(d_h) + M) with M the causal mask (-inf above the diagonal);
  heads P V joined back to (N, L, D);  y = Transpose(heads Wo + bo) (N, D, L). Dropout is inference's identity.
"""

from __future__ import annotations

import math

import numpy as np


def _embedding(g, layer, x, name, in_shape):
    ids = g.op("Cast", [g.op("Round", [x], f"{name}.rounded")], f"{name}.ids", to=7)  # 7: INT64
    rows = g.op("Gather", [g.const(f"{name}.W", layer.params["W"]), ids], f"{name}.rows", axis=0)  # (N, L, dim)
    return g.op("Transpose", [rows], name, perm=[0, 2, 1]), (layer.dim, in_shape[0])


def _positional(g, layer, x, name, in_shape):
    steps = in_shape[1]
    return g.op("Add", [x, g.const(f"{name}.P", layer.positions()[:, :steps])], name), in_shape


def _layernorm(g, layer, x, name, in_shape):
    gamma, beta = (g.const(f"{name}.{key}", layer.params[key]) for key in ("gamma", "beta"))
    if len(in_shape) == 1:
        return g.op("LayerNormalization", [x, gamma, beta], name, axis=-1, epsilon=layer.eps), in_shape
    rows = g.op("Transpose", [x], f"{name}.steps_first", perm=[0, 2, 1])  # (N, L, C): normalize each row
    y = g.op("LayerNormalization", [rows, gamma, beta], f"{name}.rows", axis=-1, epsilon=layer.eps)
    return g.op("Transpose", [y], name, perm=[0, 2, 1]), in_shape


def _projection(g, layer, xt: str, name: str, which: str) -> str:
    """xt W + b (no bias for k, as in the layer): (N, L, D) @ (D, D)."""
    a = g.op("MatMul", [xt, g.const(f"{name}.W{which}", layer.params[f"W{which}"])], f"{name}.{which}")
    if f"b{which}" in layer.params:
        a = g.op("Add", [a, g.const(f"{name}.b{which}", layer.params[f"b{which}"])], f"{name}.{which}_b")
    return a


def _attention(g, layer, x, name, in_shape):
    dim, steps = in_shape
    heads, d_h = layer.heads, dim // layer.heads
    xt = g.op("Transpose", [x], f"{name}.steps_first", perm=[0, 2, 1])  # (N, L, D)
    split = g.const(f"{name}.split_shape", [-1, steps, heads, d_h], "int64")

    def heads_of(a: str, which: str, perm: list[int]) -> str:  # (N, L, D) -> (N, L, H, d_h) -> perm
        return g.op("Transpose", [g.op("Reshape", [a, split], f"{name}.{which}_split")], f"{name}.{which}_h", perm=perm)

    q = heads_of(_projection(g, layer, xt, name, "q"), "q", [0, 2, 1, 3])  # (N, H, L, d_h)
    kt = heads_of(_projection(g, layer, xt, name, "k"), "k", [0, 2, 3, 1])  # (N, H, d_h, L)
    v = heads_of(_projection(g, layer, xt, name, "v"), "v", [0, 2, 1, 3])
    scores = g.op("Mul", [g.op("MatMul", [q, kt], f"{name}.qk"), g.const(f"{name}.scale", 1.0 / math.sqrt(d_h))],
                  f"{name}.scores")  # fmt: skip
    if layer.causal:
        mask = np.triu(np.full((steps, steps), -np.inf), k=1)  # (L, L): a query never sees a later key
        scores = g.op("Add", [scores, g.const(f"{name}.mask", mask)], f"{name}.masked")
    p = g.op("Softmax", [scores], f"{name}.p", axis=-1)
    joined = g.op("Transpose", [g.op("MatMul", [p, v], f"{name}.pv")], f"{name}.pv_t", perm=[0, 2, 1, 3])
    o = g.op("Reshape", [joined, g.const(f"{name}.join_shape", [-1, steps, dim], "int64")], f"{name}.o")
    return g.op("Transpose", [_projection(g, layer, o, name, "o")], name, perm=[0, 2, 1]), in_shape


TEXT_EXPORTERS = {
    "embedding": _embedding,
    "positional": _positional,
    "layernorm": _layernorm,
    "attention": _attention,
}
