"""The simple (Elman) recurrent layer: one tanh or relu per step, backpropagated through time."""

from __future__ import annotations

from typing import Literal

import numpy as np

from backprop_cli.nn.recurrent.bptt import Recurrent, RecurrentSpec


class RNNSpec(RecurrentSpec):
    type: Literal["rnn"]  # type: ignore[assignment]
    activation: Literal["tanh", "relu"] = "tanh"


class SimpleRNN(Recurrent):
    """h_t = act(x_t·W + h_{t-1}·U + b), h_0 = 0;  x: (N, C, L) -> (N, H), or (N, H, L) with return_sequences.

    PyTorch's torch.nn.RNN: W = weight_ih_l0ᵀ, U = weight_hh_l0ᵀ, b = bias_ih_l0 + bias_hh_l0.
    """

    Spec = RNNSpec
    kind = "rnn"
    gates = 1
    pointwise = 2  # the add of x_t·W and the activation

    def __init__(self, units: int, activation: str = "tanh", **kwargs):
        super().__init__(units, **kwargs)
        self.activation = activation

    def _act_(self, a: np.ndarray) -> None:
        if self.activation == "tanh":
            np.tanh(a, out=a)
        else:
            np.maximum(a, 0, out=a)

    def _run(self, xw: np.ndarray, p: dict) -> tuple[np.ndarray, ...]:
        """hs (L+1, N, H) with hs[0] = h_0 = 0: backward needs every h_t (the output, for act')."""
        length, n, _ = xw.shape
        hs = np.zeros((length + 1, n, self.units), dtype=xw.dtype)
        for t in range(length):
            a = np.matmul(hs[t], p["U"], out=hs[t + 1])  # (N, H) @ (H, H)
            a += xw[t]
            self._act_(a)
        return (hs,)

    def _unroll(self, dh_seq, dh_last, cache, p, g) -> tuple[np.ndarray, np.ndarray]:
        """da_t = dh_t ⊙ act'(h_t);  dh_{t-1} = da_t·Uᵀ (+ the output's gradient at t-1)."""
        (hs,) = cache
        length, n, h = hs.shape[0] - 1, hs.shape[1], self.units
        da = np.empty((length, n, h), dtype=hs.dtype)
        dh = self._start(dh_last, (n, h), hs.dtype)
        for t in reversed(range(length)):
            if dh_seq is not None:
                dh += dh_seq[t]
            self._note(t, dh)
            y = hs[t + 1]
            if self.activation == "tanh":
                np.multiply(dh, 1.0 - y * y, out=da[t])  # tanh' = 1 - h²
            else:
                np.multiply(dh, y > 0, out=da[t])  # relu' = [h > 0]
            dh = da[t] @ p["U"].T  # (N, H) @ (H, H)
        return da, da  # the same pre-activation feeds x·W and h·U

    def explain(self) -> dict[str, list[str]]:
        act = self.activation
        deriv = "(1 - h_t²)" if act == "tanh" else "[h_t > 0]"
        return {
            "forward": [f"h_t = {act}(x_t·W + h_(t-1)·U + b),  h_0 = 0,  t = 1..L"],
            "backward": [
                "dh_t = dy_t + da_(t+1)·Uᵀ   (through time: the step after t reads h_t)",
                f"da_t = dh_t ⊙ {deriv}",
                "dW = Σ_t x_tᵀ·da_t,  dU = Σ_t h_(t-1)ᵀ·da_t,  db = Σ_t Σ_n da_t,  dx_t = da_t·Wᵀ",
            ],
        }
