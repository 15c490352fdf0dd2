"""import-weights for PyTorch's nn.RNN, nn.LSTM and nn.GRU: mapped weights give PyTorch's outputs."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.interop.torch_map import map_state_dict
from backprop_cli.nn.model import build_model
from backprop_cli.nn.registry import LAYERS

# these layer types come from another branch: the tests run wherever they are registered
RECURRENT_TYPES = {"rnn", "lstm", "gru"}
pytestmark = pytest.mark.skipif(not RECURRENT_TYPES <= set(LAYERS), reason="the recurrent layers are not in this tree")

torch = pytest.importorskip("torch")  # the bench extra's PyTorch
from torch import nn  # noqa: E402


class Seq(nn.Module):
    """x (N, C, L) channels first, as ours -> the recurrent layer -> (N, D*H) last states or (N, D*H, L)."""

    def __init__(self, kind: str, units: int, bidirectional: bool, return_sequences: bool):
        super().__init__()
        cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
        self.rec = cls(2, units, batch_first=True, bidirectional=bidirectional)
        self.return_sequences = return_sequences

    def forward(self, x):
        out, h_n = self.rec(x.transpose(1, 2))  # (N, L, D*H); h_n (D, N, H) (LSTM: (h_n, c_n))
        if self.return_sequences:
            return out.transpose(1, 2)
        h_n = h_n[0] if isinstance(h_n, tuple) else h_n
        return h_n.transpose(0, 1).reshape(x.shape[0], -1)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional, return_sequences", [(False, False), (True, True), (True, False)])
def test_mapped_recurrent_weights_give_pytorchs_outputs(kind, bidirectional, return_sequences, rng):
    torch.manual_seed(1)
    net = Seq(kind, 4, bidirectional, return_sequences)
    spec = {"type": kind, "units": 4, "bidirectional": bidirectional, "return_sequences": return_sequences}
    model = build_model([spec], (2, 6), rng, np.float32)
    tensors = {f"0.{k.split('.', 1)[1]}": v.detach().numpy() for k, v in net.state_dict().items()}
    model.load_state_tensors(map_state_dict(model, tensors, "w.safetensors"))
    x = rng.normal(size=(5, 2, 6)).astype(np.float32)
    expected = net(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model.forward(x, training=False), expected, rtol=1e-5, atol=1e-6)
