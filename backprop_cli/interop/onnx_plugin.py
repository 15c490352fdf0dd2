"""ONNX export of a user's plugin layer: only through the export hook its class provides.

ONNX cannot know what the user's forward computes, so a plugin exports only when its class defines

    def to_onnx(self, g, x: str, name: str) -> str:
        # g.op(op_type, [inputs], hint, **attributes) -> output name; g.const(hint, array) -> constant name
        beta = g.const(f"{name}.beta", self.params["beta"])
        return g.op("Mul", [x, g.op("Sigmoid", [g.op("Mul", [x, beta], f"{name}.bx")], f"{name}.s")], name)

which adds the layer's inference-time nodes to the graph (interop/onnx_graph.Graph) for the input
named `x` and returns the name of its output, shaped (N, *the shape build returned). The export test
of a trained model compares onnxruntime with our forward; the hook is the user's to get right.
"""

from __future__ import annotations

from backprop_cli.errors import UserError


def export_plugin(g, layer, x: str, name: str, in_shape: tuple[int, ...]) -> tuple[str, tuple[int, ...]]:
    if getattr(type(layer.inner), "to_onnx", None) is None:  # optional in a user's class
        raise UserError(
            f"layer {name} is the plugin {layer.label}: ONNX cannot know what its forward computes",
            fix="give the class a `to_onnx(self, g, x, name)` method (see docs/your-own-layer.md), "
            "or export its weights with --format npz",
        )
    return layer._call("to_onnx", lambda: layer.inner.to_onnx(g, x, name)), layer.output_shape


PLUGIN_EXPORTERS = {"plugin": export_plugin}
