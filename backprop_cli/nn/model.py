"""The model: a sequence of layers whose parameters and gradients live in two contiguous buffers.

After build(), every layer's params[k] / grads[k] is a view into `flat_params` / `flat_grads`, the
regularized weights first (`flat_weights`, `flat_weight_grads`), so clipping, penalties and the
optimizer make one pass over one array. Layers therefore write gradients in place (out=, [...] =)
and read parameters through self.params[k] on every call: rebinding either would break the views.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from types import SimpleNamespace

import numpy as np

from backprop_cli.errors import CheckpointError, ConfigError
from backprop_cli.nn.attention.attention import check_heads
from backprop_cli.nn.attention.positional import check_max_length
from backprop_cli.nn.base import Layer
from backprop_cli.nn.conv.windows import window_geometry
from backprop_cli.nn.initializers import check_given
from backprop_cli.nn.registry import LAYERS, build_layers, layer_name, validate_layer_spec

ALIGN_BYTES = 64  # each tensor starts on a cache line


def walk_layers(layer: Layer, prefix: str = "") -> Iterator[tuple[str, Layer]]:
    """(dotted name, layer) for every descendant, parents before their parts: "0", "3", "3.0", "3.proj"."""
    for key, child in layer.children():
        name = f"{prefix}{key}"
        yield name, child
        yield from walk_layers(child, f"{name}.")


def _n_params(layer: Layer) -> int:
    """Parameters of a layer and all its parts."""
    return sum(p.size for _, part in [("", layer), *walk_layers(layer)] for p in part.params.values())


def _aligned_zeros(n: int, dtype: np.dtype) -> np.ndarray:
    pad = ALIGN_BYTES // dtype.itemsize
    raw = np.zeros(n + pad, dtype=dtype)
    start = (-raw.ctypes.data % ALIGN_BYTES) // dtype.itemsize
    return raw[start : start + n]


class Model(Layer):
    """y = f_L(... f_2(f_1(x))); backward runs the chain rule through the layers in reverse."""

    def __init__(self, layers: Sequence[Layer], input_grad: bool = False):
        super().__init__()
        self.layers = list(layers)
        self._input_grad = input_grad
        self._backward_from = 0
        self.dtype = np.dtype("float32")
        self.flat_params = self.flat_grads = np.zeros(0, dtype=self.dtype)
        self.flat_weights = self.flat_weight_grads = self.flat_params
        self.param_slices: dict[str, slice] = {}  # "0.W" -> its span of flat_params

    def children(self) -> list[tuple[str, Layer]]:
        return [(str(i), layer) for i, layer in enumerate(self.layers)]

    def build(self, input_shape, rng, dtype="float32"):
        self.dtype = np.dtype(dtype)
        self.input_shape = shape = tuple(input_shape)
        self.output_shapes = []
        for i, layer in enumerate(self.layers):
            try:
                shape = tuple(layer.build(shape, rng, self.dtype))
            except ConfigError as err:  # a shape that does not fit: name the layer, as estimate_model does
                err.where = err.where or f"model.layers.{i}"
                raise
            self.output_shapes.append(shape)
        self.output_shape = shape
        self._consolidate()
        self.input_grad = self._input_grad
        return shape

    @property
    def input_grad(self) -> bool:
        """Whether backward returns dL/dx. Training needs no gradient for the data, so by default the
        layers before the first parameter are not backpropagated and a first Dense skips its dx."""
        return self._input_grad

    @input_grad.setter
    def input_grad(self, value: bool) -> None:
        self._input_grad = bool(value)
        sizes = [_n_params(layer) for layer in self.layers]
        first = next((i for i, n in enumerate(sizes) if n), len(self.layers))  # the first layer that trains
        self._backward_from = 0 if value else first
        for i, layer in enumerate(self.layers):
            if hasattr(layer, "input_grad"):
                layer.input_grad = value or i != first

    def _consolidate(self) -> None:
        """Move every parameter and gradient into one buffer each; layers keep views into them."""
        entries = [(f"{name}.{key}", layer, key) for name, layer in self.named_layers() for key in layer.params]
        entries.sort(key=lambda e: e[2] not in e[1].regularized)  # stable: weights first, in model order
        step, offset, n_weights, layout = ALIGN_BYTES // self.dtype.itemsize, 0, 0, []
        for name, layer, key in entries:
            offset = -(-offset // step) * step  # round up to the alignment
            layout.append((name, layer, key, offset))
            offset += layer.params[key].size
            if key in layer.regularized:
                n_weights = offset
        self.flat_params = _aligned_zeros(offset, self.dtype)
        self.flat_grads = _aligned_zeros(offset, self.dtype)
        self.param_slices = {}
        for name, layer, key, start in layout:
            p = layer.params[key]
            span = slice(start, start + p.size)
            for table, flat in ((layer.params, self.flat_params), (layer.grads, self.flat_grads)):
                view = flat[span].reshape(p.shape)
                view[...] = table[key]
                table[key] = view
            self.param_slices[name] = span
        self.flat_weights, self.flat_weight_grads = self.flat_params[:n_weights], self.flat_grads[:n_weights]

    def forward(self, x, training):
        y = np.asarray(x, dtype=self.dtype)  # no copy when it already is
        for layer in self.layers:
            y = layer.forward(y, training)
        return y

    def backward(self, dy):
        for layer in reversed(self.layers[self._backward_from :]):
            dy = layer.backward(dy)
        return dy if self._input_grad else None

    def named_layers(self) -> Iterator[tuple[str, Layer]]:
        return walk_layers(self)

    def named_params(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """("0.W", param, grad) for every trainable tensor, in model order."""
        for name, layer in self.named_layers():
            for key, p in layer.params.items():
                yield f"{name}.{key}", p, layer.grads[key]

    @property
    def param_count(self) -> int:
        return sum(p.size for _, p, _ in self.named_params())

    def state_tensors(self) -> dict[str, np.ndarray]:
        """Every saved tensor (params, then state such as running_mean) by name; views, not copies."""
        return {
            f"{name}.{key}": t
            for name, layer in self.named_layers()
            for key, t in {**layer.params, **layer.state}.items()
        }

    def load_state_tensors(self, tensors: Mapping[str, np.ndarray], name_prefix: str = "model.") -> None:
        """Copy saved tensors into the model in place; names and shapes must match exactly (checked first)."""
        own = self.state_tensors()
        missing, extra = sorted(set(own) - set(tensors)), sorted(set(tensors) - set(own))
        fix = "load it into the model of the config it was trained with"
        if missing:
            raise CheckpointError(f"the checkpoint lacks tensor {name_prefix + missing[0]!r}", fix=fix)
        if extra:
            raise CheckpointError(
                f"the checkpoint has tensor {name_prefix + extra[0]!r}, unknown to this model", fix=fix
            )
        for name, t in own.items():
            if np.shape(tensors[name]) != t.shape:
                raise CheckpointError(
                    f"tensor {name_prefix + name!r} has shape {np.shape(tensors[name])} in the checkpoint "
                    f"but {t.shape} in the model",
                    fix=fix,
                )
        for name, t in own.items():
            np.copyto(t, tensors[name], casting="same_kind")

    def summary_rows(self) -> list[tuple[str, str, tuple[int, ...], int]]:
        """(name, type, per-example output shape, number of parameters) for each top-level layer."""
        rows = []
        for i, (layer, shape) in enumerate(zip(self.layers, self.output_shapes, strict=True)):
            rows.append((str(i), describe(layer), shape, _n_params(layer)))
        return rows


def describe(layer: Layer) -> str:
    """A short type label: "dense(relu)", "residual[dense(relu), dense] + proj", "dropout"."""
    name = layer_name(layer)
    if name == "plugin":
        return f"plugin({layer.label})"  # the user's file and class
    if getattr(layer, "activation", None) not in (None, "linear"):
        return f"{name}({layer.activation})"
    if name == "residual":
        inner = ", ".join(describe(sub) for sub in layer.layers)
        return f"residual[{inner}]" + (" + proj" if layer.proj is not None else "")
    return name


def build_model(
    layer_specs: Sequence, input_shape: tuple[int, ...], rng: np.random.Generator, dtype="float32", resolved=False
) -> Model:
    """Build the layers of `model.layers` for inputs of `input_shape` (per example); specs may be dicts.

    `resolved=True`: the specs are a validated config dumped to dicts (see nn.registry.build_layer).
    """
    model = Model(build_layers(layer_specs, resolved=resolved))
    model.build(tuple(input_shape), rng, dtype)
    return model


def estimate_param_count(
    layer_specs: Sequence, input_shape: tuple[int, ...], key_path: str = "model.layers", resolved: bool = False
) -> int:
    """The number of parameters build_model would allocate, from specs and shapes alone (no allocation)."""
    return estimate_model(layer_specs, input_shape, key_path, resolved)[0]


def estimate_model(
    layer_specs: Sequence, input_shape: tuple[int, ...], key_path: str = "model.layers", resolved: bool = False
) -> tuple[int, tuple[int, ...]]:
    """(parameter count, per-example output shape) of the model build_model would make, without allocating."""
    total, shape = 0, tuple(input_shape)
    for i, data in enumerate(layer_specs):
        try:
            spec = _attributes(data) if resolved else validate_layer_spec(data, f"{key_path}.{i}")
            count, shape = _estimate(spec, shape)
        except ConfigError as err:  # a shape that does not fit (an image layer after flatten): name the layer
            err.where = err.where or f"{key_path}.{i}"
            raise
        total += count
    return total, shape


SEQUENCE_ESTIMATES = {  # (spec, input shape) -> (parameter count, output shape)
    "embedding": lambda spec, shape: ((spec.vocab_size or 0) * spec.dim, (spec.dim, *shape)),
    "positional": lambda spec, shape: (
        shape[0] * (spec.max_length or shape[-1]) if spec.kind == "learned" else 0,
        shape,
    ),
    "layernorm": lambda spec, shape: (2 * shape[0], shape),
    "attention": lambda spec, shape: (4 * shape[0] * shape[0] + 3 * shape[0], shape),  # no key bias
}
SEQUENCE_CHECKS = {  # the checks the layer's build makes, made from the spec (the same functions)
    "positional": lambda spec, shape: check_max_length(spec.max_length, shape[-1]),
    "attention": lambda spec, shape: check_heads(spec.heads, shape[0]),
}


def _attributes(data: Mapping) -> SimpleNamespace:
    """A resolved spec dict read like its pydantic model (spec.units), nested layers included."""
    fields = {k: [_attributes(inner) for inner in v] if k == "layers" else v for k, v in data.items()}
    return SimpleNamespace(**fields)


def _estimate(spec, shape: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    """(parameter count, output shape) of one layer spec; Python ints, so no overflow."""
    if spec.type == "dense" and getattr(spec, "per_step", False):  # (C, L) -> (units, L), W shared by the steps
        return shape[0] * spec.units + (spec.units if spec.use_bias else 0), (spec.units, *shape[1:])
    if spec.type in SEQUENCE_ESTIMATES:
        SEQUENCE_CHECKS.get(spec.type, lambda spec, shape: None)(spec, shape)
        return SEQUENCE_ESTIMATES[spec.type](spec, shape)
    if spec.type == "dense":
        check_given(spec.init, getattr(spec, "bias_init", None), math.prod(shape), spec.units, spec.use_bias)
        return math.prod(shape) * spec.units + (spec.units if spec.use_bias else 0), (spec.units,)
    if spec.type == "batchnorm":
        return 2 * shape[0], shape
    if spec.type == "flatten":
        return 0, (math.prod(shape),)
    if spec.type == "conv2d":  # W (F, C, k, k) and b (F,)
        _, out_hw = window_geometry(shape, spec.kernel_size, spec.stride, spec.padding, spec.type)
        return spec.filters * (shape[0] * spec.kernel_size**2 + spec.use_bias), (spec.filters, *out_hw)
    if spec.type in ("maxpool2d", "avgpool2d"):
        _, out_hw = window_geometry(shape, spec.pool_size, spec.stride or spec.pool_size, 0, spec.type)
        return 0, (shape[0], *out_hw)
    if hasattr(LAYERS.get(spec.type), "estimate"):  # a layer that works out its own count and shape
        return LAYERS[spec.type].estimate(spec, shape)
    if spec.type == "residual":
        total, out = 0, shape
        for inner in spec.layers:
            count, out = _estimate(inner, out)
            total += count
        if out != shape:  # the projection: a dense layer from prod(in) to prod(out)
            total += math.prod(shape) * math.prod(out) + math.prod(out)
        return total, out
    return 0, shape
