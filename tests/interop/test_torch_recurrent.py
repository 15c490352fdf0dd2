"""import-weights for PyTorch's nn.RNN, nn.LSTM and nn.GRU: mapped weights give PyTorch's outputs.

PyTorch's state dicts and outputs are recorded in tests/fixtures/torch (make_torch_fixtures.py), so this
runs without PyTorch installed."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.interop.torch_map import map_state_dict
from backprop_cli.nn.model import build_model
from tests.torch_recorded import RECURRENT_IMPORT_CASES, case, recorded


@pytest.mark.parametrize("kind, bidirectional, return_sequences", RECURRENT_IMPORT_CASES)
def test_mapped_recurrent_weights_give_pytorchs_outputs(kind, bidirectional, return_sequences):
    numbers = case(recorded("recurrent_import"), f"{kind}-{bidirectional}-{return_sequences}")
    spec = {"type": kind, "units": 4, "bidirectional": bool(bidirectional), "return_sequences": bool(return_sequences)}
    model = build_model([spec], (2, 6), np.random.default_rng(0), np.float32)
    state_dict = {name: t for name, t in numbers.items() if name.startswith("0.")}  # torch names, e.g. 0.bias_hh_l0
    model.load_state_tensors(map_state_dict(model, state_dict, "w.safetensors"))
    np.testing.assert_allclose(model.forward(numbers["x"], training=False), numbers["y"], rtol=1e-5, atol=1e-6)
