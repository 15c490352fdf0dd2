"""A small transformer (embedding, positions, pre-norm attention and MLP blocks) as one ONNX graph."""

from __future__ import annotations

import numpy as np
import pytest

from tests.interop.helpers import needs_onnx  # noqa: E402

pytestmark = needs_onnx()  # onnx and onnxruntime (~1.3 s to import) are imported by the tests that run

from backprop_cli.interop.onnx_export import export_onnx  # noqa: E402
from backprop_cli.nn.registry import LAYERS  # noqa: E402

from .test_onnx_layers import ours, theirs, trained  # noqa: E402

TEXT_TYPES = {"embedding", "positional", "layernorm", "attention"}
# these layer types come from another branch: the tests run wherever they are registered
pytestmark = pytest.mark.skipif(not TEXT_TYPES <= set(LAYERS), reason="the language layers are not in this tree")

ATTENTION = {"type": "residual", "layers": [{"type": "layernorm"}, {"type": "attention", "heads": 2}]}
MLP = {"type": "residual", "layers": [{"type": "layernorm"},
                                      {"type": "dense", "units": 16, "activation": "gelu", "per_step": True},
                                      {"type": "dense", "units": 8, "per_step": True}]}  # fmt: skip
TRANSFORMER = [{"type": "embedding", "dim": 8, "vocab_size": 11}, {"type": "positional", "kind": "sinusoidal"},
               ATTENTION, MLP, {"type": "layernorm"}, {"type": "dense", "units": 11, "per_step": True}]  # fmt: skip


@pytest.mark.parametrize("proba", [False, True])
def test_a_small_transformer_exports_with_next_token_logits_or_probabilities(proba, rng):
    ids = rng.integers(0, 11, size=(20, 6)).astype(np.float64)  # token ids (N, L), unscaled as text data
    t = trained(TRANSFORMER, (6,), rng, loss="cross_entropy", classes=[str(i) for i in range(11)], x_fit=ids,
                scale="none")  # fmt: skip
    model = export_onnx(t, proba=proba)
    assert {"Gather", "LayerNormalization", "Softmax"} <= {n.op_type for n in model.graph.node}
    expected = t.loss.link(ours(t, ids[:5])) if proba else ours(t, ids[:5])  # (N, K, L): softmax over K
    np.testing.assert_allclose(theirs(model, ids[:5]), expected, rtol=1e-4, atol=1e-5)
