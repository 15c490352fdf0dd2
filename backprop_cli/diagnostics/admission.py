"""A user's layer is admitted only with a proved backward: the float64 gradcheck, on its configured shapes.

Before train, a sweep or cv trial, explain, trace or lr-find run a network, each plugin layer in it is
built afresh in float64 at the input shape it has in that network, run forward on a few random
examples, and its backward (every parameter's gradient and dx) compared with central differences of
sum(y * R) for a random R, with the same kink-aware checker and tolerance as `backprop gradcheck`.
On the way the contract is checked: forward returns (N, *the shape build returned), finite; backward
returns an array shaped like x, finite, and writes each gradient into `grads` in place (rebinding
one would leave the model's gradient buffer, which the optimizer reads, untouched).

A refusal is one PluginError: the file, the class, the tensor and its relative error. Admissions are
remembered per process (source hash, class, args, shape), so a network is proved once per process.
"""

from __future__ import annotations

import json

import numpy as np

from backprop_cli.diagnostics.finite_diff import check_tensor, sample_coords
from backprop_cli.diagnostics.gradcheck import EPS, TOLERANCE, noise_floor
from backprop_cli.nn.base import Layer
from backprop_cli.nn.plugin import Plugin, plugin_specs
from backprop_cli.nn.plugin_source import PluginError

ROWS = 3  # examples in the checked batch: enough for a layer that mixes them (a batch statistic)
SAMPLES = 64  # coordinates per tensor, as `backprop gradcheck`
SEED = 0x504C5547
_ADMITTED: set[tuple] = set()


def admit_plugins(model: Layer) -> None:
    """Gradcheck every plugin layer of a built model (at the input shape it was built for), or raise."""
    for name, layer in model.named_layers():
        if isinstance(layer, Plugin):
            admit(layer, f"model.layers.{name.replace('.', '.layers.')}")


def admit(plugin: Plugin, key_path: str) -> None:
    """Prove one plugin layer's backward at its input shape; a PluginError names what is wrong."""
    key = (plugin.source.sha256, plugin.class_name, json.dumps(plugin.args, sort_keys=True), plugin.input_shape)
    if key in _ADMITTED:
        return
    fresh = Plugin(plugin.path, plugin.class_name, plugin.args, plugin.source.sha256)
    try:
        _prove(fresh, plugin.input_shape)
    except PluginError as err:
        err.where = err.where or key_path
        raise
    _ADMITTED.add(key)


def _prove(layer: Plugin, input_shape: tuple[int, ...]) -> None:
    rng, aux = np.random.default_rng(SEED), np.random.default_rng(SEED + 1)
    layer.build(input_shape, rng, np.float64)
    x = aux.standard_normal((ROWS, *input_shape))
    start = rng.bit_generator.state

    def forward() -> np.ndarray:
        rng.bit_generator.state = start  # a layer that draws at random draws the same numbers each time
        return layer.forward(x, True)

    y = forward()
    _require_finite(layer, "forward", y, "its output")
    weights = aux.standard_normal(y.shape)  # the checked scalar is sum(y * R): dL/dy = R
    grads_before = dict(layer.grads)
    dx = np.array(layer.backward(weights), dtype=np.float64)
    _require_finite(layer, "backward", dx, "dx")
    _require_grads_in_place(layer, grads_before)
    analytic = [(key, p, np.array(layer.grads[key], dtype=np.float64)) for key, p in layer.params.items()]
    f0 = float(np.sum(y * weights))
    f = lambda: float(np.sum(forward() * weights))  # noqa: E731
    for tensor, p, g in [*analytic, ("dx", x, dx)]:
        coords = sample_coords(p.size, SAMPLES, aux)
        check = check_tensor(p, g, f, f0, EPS, coords, TOLERANCE, noise_floor(f0))
        if check.n_failed or not np.isfinite(check.max_rel_error):
            name = tensor if tensor == "dx" else f"d{tensor}"
            raise PluginError(
                f"{layer.label} {name}: relative error {check.max_rel_error:.1e} > {TOLERANCE:.0e} "
                f"({check.n_failed} of {check.n_checked} entries checked disagree)",
                fix="your backward does not match your forward: `backprop gradcheck CONFIG` shows every gradient",
            )


def _require_finite(layer: Plugin, stage: str, a: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(a)):
        raise PluginError(
            f"{layer.label} {stage} gives NaN or infinite values in {what} for standard normal inputs",
            fix="keep the arithmetic finite (an exp of a large value overflows: clip it, or use tanh)",
        )


def _require_grads_in_place(layer: Plugin, before: dict) -> None:
    """Each gradient the same array after backward, with its parameter's shape: written in place."""
    if set(layer.grads) != set(layer.params):
        raise PluginError(
            f"{layer.label} has params {sorted(layer.params)} but grads {sorted(layer.grads)}",
            fix="give grads the same keys as params (build: self.grads = {k: np.zeros_like(p) ...})",
        )
    for key, p in layer.params.items():
        g = layer.grads[key]
        if g is not before.get(key) or g.shape != p.shape:
            raise PluginError(
                f"{layer.label} backward replaced grads[{key!r}] instead of writing into it",
                fix=f"write in place: self.grads[{key!r}][...] = ... (the model's optimizer reads that very array)",
            )


def admit_config_plugins(layer_specs, input_shape: tuple[int, ...]) -> None:
    """The plugin layers of a network not built yet: built once in float64 to learn their input shapes."""
    from backprop_cli.nn.model import build_model

    if plugin_specs(layer_specs):
        admit_plugins(build_model(layer_specs, input_shape, np.random.default_rng(SEED), np.float64))
