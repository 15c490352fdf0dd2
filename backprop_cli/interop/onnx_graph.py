"""A small ONNX graph builder: nodes, named constants (initializers) and unique names, float32 throughout.

Layer exporters (onnx_layers.py) add nodes through it; they never import `onnx` themselves, so that a
missing `onnx` package is one clear message, raised once, when the model proto is assembled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

OPSET = 17  # LayerNormalization is in 17; onnxruntime releases of the last years all run it
FLOAT = np.float32  # exported graphs compute in float32 whatever the training dtype (see README)


@dataclass
class Node:
    op: str
    inputs: list[str]
    outputs: list[str]
    name: str
    attrs: dict[str, Any] = field(default_factory=dict)


class Graph:
    """What `to_proto` turns into an onnx.GraphProto: nodes in order, constants by name."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.constants: dict[str, np.ndarray] = {}
        self._taken: set[str] = set()

    def fresh(self, hint: str) -> str:
        """A name no other value has: `hint`, else `hint_1`, `hint_2`, ..."""
        name, i = hint, 0
        while name in self._taken:
            i += 1
            name = f"{hint}_{i}"
        self._taken.add(name)
        return name

    def const(self, hint: str, array, dtype=FLOAT) -> str:
        """A constant tensor (weights, shapes); float tensors become float32."""
        name = self.fresh(hint)
        self.constants[name] = np.ascontiguousarray(np.asarray(array, dtype=dtype))
        return name

    def node(self, op: str, inputs: list[str], outputs: list[str], hint: str, **attrs) -> None:
        """A node with several outputs, named by the caller (with fresh())."""
        self.nodes.append(Node(op, list(inputs), list(outputs), f"{op}_{self.fresh(hint)}", attrs))

    def op(self, op: str, inputs: list[str], hint: str, **attrs) -> str:
        """One node with one output, named after `hint`; returns the output's name."""
        out = self.fresh(hint)
        self.nodes.append(Node(op, list(inputs), [out], f"{op}_{out}", attrs))
        return out


def to_proto(graph: Graph, name: str, inputs: list[tuple], outputs: list[tuple]):
    """The onnx GraphProto; inputs/outputs as (name, shape) or (name, shape, "float" | "string"), shapes as
    lists whose str entries are dynamic dims ("N")."""
    from onnx import TensorProto, helper, numpy_helper

    kinds = {"float": TensorProto.FLOAT, "string": TensorProto.STRING}

    def value_info(vname: str, shape: list, kind: str = "float"):
        return helper.make_tensor_value_info(vname, kinds[kind], shape)

    nodes = [helper.make_node(n.op, n.inputs, n.outputs, name=n.name, **n.attrs) for n in graph.nodes]
    initializers = [numpy_helper.from_array(a, name=k) for k, a in graph.constants.items()]
    return helper.make_graph(
        nodes,
        name,
        [value_info(*entry) for entry in inputs],
        [value_info(*entry) for entry in outputs],
        initializer=initializers,
    )
