"""The sequence layers in ONNX: RNN, LSTM and GRU in every direction and output form; conv1d, pools, reshape."""

from __future__ import annotations

import numpy as np
import pytest

from tests.interop.helpers import needs_onnx  # noqa: E402

pytestmark = needs_onnx()  # onnx and onnxruntime (~1.3 s to import) are imported by the tests that run

from backprop_cli.interop.onnx_export import export_onnx  # noqa: E402
from backprop_cli.nn.registry import LAYERS  # noqa: E402

from .test_onnx_layers import ours, theirs, trained  # noqa: E402

SEQUENCE_TYPES = {"conv1d", "maxpool1d", "global_avgpool", "reshape", "rnn", "lstm", "gru"}
# these layer types come from another branch: the tests run wherever they are registered
pytestmark = pytest.mark.skipif(not SEQUENCE_TYPES <= set(LAYERS), reason="the sequence layers are not in this tree")


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_a_recurrent_layer_exports_as_its_onnx_operator(kind, bidirectional, return_sequences, rng):
    layer = {"type": kind, "units": 4, "bidirectional": bidirectional, "return_sequences": return_sequences}
    if kind == "rnn":
        layer["activation"] = "relu" if bidirectional else "tanh"
    t = trained([{"type": "conv1d", "filters": 3, "kernel_size": 2}, layer], (2, 9), rng)
    x = rng.normal(3.0, 2.0, (5, 2, 9))
    model = export_onnx(t)
    assert {kind.upper()} <= {n.op_type for n in model.graph.node}
    np.testing.assert_allclose(theirs(model, x), ours(t, x), rtol=1e-4, atol=1e-5)


def test_a_sequence_classifier_pools_globally_and_reshapes(rng):
    layers = [{"type": "reshape", "shape": [1, -1]}, {"type": "conv1d", "filters": 4, "kernel_size": 3, "padding": 1},
              {"type": "maxpool1d"}, {"type": "global_avgpool"}, {"type": "dense", "units": 3}]  # fmt: skip
    t = trained(layers, (12,), rng)
    x = rng.normal(size=(4, 12))
    np.testing.assert_allclose(theirs(export_onnx(t), x), ours(t, x), rtol=1e-4, atol=1e-5)
