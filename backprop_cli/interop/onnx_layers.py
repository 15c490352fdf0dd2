"""One ONNX exporter per layer type: a registry dict, name -> function, like the layer registry itself.

An exporter adds the nodes of one layer in inference form and returns the output's name and its
per-example shape:  export(g, layer, x, name, in_shape) -> (y, out_shape). `name` is the layer's
checkpoint name ("model.3", "model.3.proj"); its tensors keep those names as ONNX initializers.
A layer type missing from EXPORTERS is refused by name, never exported wrongly. The exporters of the
sequence layers (onnx_sequence.py) and the language layers (onnx_text.py) join the table below for the
layer types the layer registry holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from backprop_cli.errors import UserError
from backprop_cli.interop.onnx_graph import Graph
from backprop_cli.nn.core.activations import _GELU_A, _GELU_C
from backprop_cli.nn.registry import LAYERS, layer_name

Shape = tuple[int, ...]
Exporter = Callable[[Graph, object, str, str, Shape], tuple[str, Shape]]


def export_layer(g: Graph, layer, x: str, name: str, in_shape: Shape) -> tuple[str, Shape]:
    """The nodes of `layer` applied to `x`; a type without an exporter is the user's clear error."""
    kind = layer_name(layer)
    if kind not in EXPORTERS:
        raise UserError(
            f"layer {name} ({kind}) has no ONNX export yet",
            fix=f"export with --format npz, or use layer types that export: {', '.join(sorted(EXPORTERS))}",
        )
    return EXPORTERS[kind](g, layer, x, name, tuple(in_shape))


def _same_shape(op: str, attrs: tuple[str, ...] = ()) -> Exporter:
    """An elementwise activation that is one ONNX operator, its attributes read from the layer (alpha)."""

    def export(g, layer, x, name, in_shape):
        return g.op(op, [x], name, **{attr: float(getattr(layer, attr)) for attr in attrs}), in_shape

    return export


def _identity(g, layer, x, name, in_shape):
    """Dropout at inference, and `linear`: no node at all."""
    return x, in_shape


def _gelu(g, layer, x, name, in_shape):
    """The tanh approximation our GELU computes: 0.5 x (1 + tanh(c (x + a x^3))), in basic operators."""
    x3 = g.op("Mul", [g.op("Mul", [x, x], f"{name}.x2"), x], f"{name}.x3")
    inner = g.op("Add", [x, g.op("Mul", [x3, g.const(f"{name}.a", _GELU_A)], f"{name}.ax3")], f"{name}.inner")
    t = g.op("Tanh", [g.op("Mul", [inner, g.const(f"{name}.c", _GELU_C)], f"{name}.cu")], f"{name}.t")
    half_x = g.op("Mul", [x, g.const(f"{name}.half", 0.5)], f"{name}.half_x")
    return g.op("Mul", [half_x, g.op("Add", [t, g.const(f"{name}.one", 1.0)], f"{name}.1pt")], name), in_shape


def _softmax(g, layer, x, name, in_shape):
    return g.op("Softmax", [x], name, axis=-1), in_shape  # over the last axis, as nn.activations.Softmax


def inner_activation(g, layer, z: str, name: str, shape: Shape) -> tuple[str, Shape]:
    """Dense's and Conv2D's built-in activation, exported by the activation's own exporter."""
    if layer.act is None:
        return z, shape
    return EXPORTERS[layer.activation](g, layer.act, z, f"{name}.{layer.activation}", shape)


def _dense(g, layer, x, name, in_shape):
    """y = act(x W + b), W (in, out) as stored: Gemm without transposes; images are flattened first."""
    if getattr(layer, "per_step", False):
        return _dense_per_step(g, layer, x, name, in_shape)
    if len(in_shape) != 1:
        x = g.op("Flatten", [x], f"{name}.flat", axis=1)  # (N, C, H, W) -> (N, C*H*W), C order as in Dense
    W = g.const(f"{name}.W", layer.params["W"])
    if layer.use_bias:
        z = g.op("Gemm", [x, W, g.const(f"{name}.b", layer.params["b"])], f"{name}.z")
    else:
        z = g.op("MatMul", [x, W], f"{name}.z")
    return inner_activation(g, layer, z, name, (layer.units,))


def _dense_per_step(g, layer, x, name, in_shape):
    """`per_step: true` on sequences (N, C, L): the same W at every step, as rows (N, L, C) @ (C, units)."""
    rows = g.op("Transpose", [x], f"{name}.steps_first", perm=[0, 2, 1])  # (N, L, C)
    z = g.op("MatMul", [rows, g.const(f"{name}.W", layer.params["W"])], f"{name}.xW")  # (N, L, units)
    if layer.use_bias:
        z = g.op("Add", [z, g.const(f"{name}.b", layer.params["b"])], f"{name}.z")
    y, _ = inner_activation(g, layer, z, name, (in_shape[1], layer.units))  # per row: softmax over units
    return g.op("Transpose", [y], name, perm=[0, 2, 1]), (layer.units, in_shape[1])  # (N, units, L)


def _conv2d(g, layer, x, name, in_shape):
    """Conv with our (F, C, k, k) weights; pads (top, bottom, left, right) -> ONNX's (top, left, bottom, right)."""
    top, bottom, left, right = layer._pads
    k, s = layer.kernel_size, layer.stride
    inputs = [x, g.const(f"{name}.W", layer.params["W"])]
    if layer.use_bias:
        inputs.append(g.const(f"{name}.b", layer.params["b"]))
    z = g.op("Conv", inputs, f"{name}.z", kernel_shape=[k, k], strides=[s, s], pads=[top, left, bottom, right])
    return inner_activation(g, layer, z, name, (layer.filters, *layer._out_hw))


def _pool(op: str) -> Exporter:
    """Valid windows (rows no whole window covers are dropped): ONNX's default floor mode, no padding."""

    def export(g, layer, x, name, in_shape):
        k, s = layer.pool_size, layer.stride
        return g.op(op, [x], name, kernel_shape=[k, k], strides=[s, s]), (in_shape[0], *layer._out_hw)

    return export


def _batchnorm(g, layer, x, name, in_shape):
    """Inference form: the running statistics, per feature (N, F) or per channel (N, C, H, W)."""
    inputs = [g.const(f"{name}.{key}", t) for key, t in (*layer.params.items(), *layer.state.items())]
    return g.op("BatchNormalization", [x, *inputs], name, epsilon=layer.eps), in_shape  # gamma beta mean var


def _flatten(g, layer, x, name, in_shape):
    return g.op("Flatten", [x], name, axis=1), (math.prod(in_shape),)


def _residual(g, layer, x, name, in_shape):
    """y = F(x) + skip(x): the inner layers, the projection (a dense layer, reshaped) if any, one Add."""
    h, shape = x, in_shape
    for j, inner in enumerate(layer.layers):
        h, shape = export_layer(g, inner, h, f"{name}.{j}", shape)
    skip = x
    if layer.proj is not None:
        skip, _ = export_layer(g, layer.proj, x, f"{name}.proj", in_shape)
        if len(shape) != 1:  # (N, prod(out)) -> (N, *out)
            skip = g.op("Reshape", [skip, g.const(f"{name}.shape", [-1, *shape], "int64")], f"{name}.proj_shaped")
    return g.op("Add", [h, skip], name), shape


EXPORTERS: dict[str, Exporter] = {
    "dense": _dense,
    "relu": _same_shape("Relu"),
    "leaky_relu": _same_shape("LeakyRelu", attrs=("alpha",)),
    "elu": _same_shape("Elu", attrs=("alpha",)),
    "gelu": _gelu,
    "sigmoid": _same_shape("Sigmoid"),
    "tanh": _same_shape("Tanh"),
    "softmax": _softmax,
    "linear": _identity,
    "dropout": _identity,
    "batchnorm": _batchnorm,
    "flatten": _flatten,
    "conv2d": _conv2d,
    "maxpool2d": _pool("MaxPool"),
    "avgpool2d": _pool("AveragePool"),
    "residual": _residual,
}

from backprop_cli.interop.onnx_plugin import PLUGIN_EXPORTERS  # noqa: E402
from backprop_cli.interop.onnx_sequence import SEQUENCE_EXPORTERS  # noqa: E402  (they import nothing from here)
from backprop_cli.interop.onnx_text import TEXT_EXPORTERS  # noqa: E402

EXPORTERS.update(
    {kind: f for kind, f in {**SEQUENCE_EXPORTERS, **TEXT_EXPORTERS, **PLUGIN_EXPORTERS}.items() if kind in LAYERS}
)
