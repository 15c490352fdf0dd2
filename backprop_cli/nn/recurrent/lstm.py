"""The long short-term memory layer (Hochreiter & Schmidhuber), with PyTorch's gate equations and order."""

from __future__ import annotations

import numpy as np

from backprop_cli.nn.kernels.recurrent import Steps
from backprop_cli.nn.recurrent.bptt import Recurrent


class LSTM(Recurrent):
    """[i f g o] = [σ σ tanh σ](x_t·W + h_{t-1}·U + b);  c_t = f⊙c_{t-1} + i⊙g;  h_t = o⊙tanh(c_t).

    x: (N, C, L) -> (N, H), or (N, H, L) with return_sequences. Gate blocks in PyTorch's order i, f, g, o:
    W = weight_ih_l0ᵀ, U = weight_hh_l0ᵀ, b = bias_ih_l0 + bias_hh_l0. The forget gate's bias starts
    at 1, so that at first the cell keeps what it holds (Jozefowicz et al. 2015; Keras' unit_forget_bias).
    """

    kind = "lstm"
    gates = 4
    pointwise = 12

    def initial_bias(self, dtype) -> np.ndarray:
        b = np.zeros(4 * self.units, dtype=dtype)
        b[self.units : 2 * self.units] = 1.0  # forget gate
        return b

    def _run(self, xw: np.ndarray, p: dict) -> tuple[np.ndarray, ...]:
        """hs, cs (L+1, N, H) from h_0 = c_0 = 0; acts (L, N, 4H) the gates after σ/tanh; tcs = tanh(c_t)."""
        length, n, _ = xw.shape
        h = self.units
        hs = np.zeros((length + 1, n, h), dtype=xw.dtype)
        cs = np.zeros_like(hs)
        acts = np.empty((length, n, 4 * h), dtype=xw.dtype)
        tcs = np.empty((length, n, h), dtype=xw.dtype)
        steps = Steps(xw.dtype)  # the compiled step (kernels/recurrent.py), or its NumPy rule
        for t in range(length):
            np.matmul(hs[t], p["U"], out=acts[t])  # (N, H) @ (H, 4H): all four gates at once
            steps.lstm(acts[t], xw[t], cs[t], cs[t + 1], tcs[t], hs[t + 1])
        return hs, cs, acts, tcs

    def _unroll(self, dh_seq, dh_last, cache, p, g) -> tuple[np.ndarray, np.ndarray]:
        """Reverse over the steps, carrying dh and dc; da (L, N, 4H) the gradient of the gates' pre-activations."""
        hs, cs, acts, tcs = cache
        length, n, h = acts.shape[0], acts.shape[1], self.units
        da = np.empty_like(acts)
        dh = self._start(dh_last, (n, h), acts.dtype)
        dc = np.zeros((n, h), dtype=acts.dtype)
        steps = Steps(acts.dtype)
        for t in reversed(range(length)):
            if dh_seq is not None:
                dh += dh_seq[t]
            self._note(t, dh)
            steps.lstm_backward(dh, dc, acts[t], cs[t], tcs[t], da[t])  # da_t; dc becomes dL/dc_(t-1) through f
            dh = da[t] @ p["U"].T  # (N, 4H) @ (4H, H)
        return da, da

    def explain(self) -> dict[str, list[str]]:
        return {
            "forward": [
                "[i f g o]_t = [σ σ tanh σ](x_t·W + h_(t-1)·U + b)",
                "c_t = f_t ⊙ c_(t-1) + i_t ⊙ g_t,   h_t = o_t ⊙ tanh(c_t),   h_0 = c_0 = 0",
            ],
            "backward": [
                "dh_t = dy_t + da_(t+1)·Uᵀ;   dc_t = dc_(t+1) ⊙ f_(t+1) + dh_t ⊙ o_t ⊙ (1 - tanh²(c_t))",
                "do = dh_t ⊙ tanh(c_t),  di = dc_t ⊙ g_t,  df = dc_t ⊙ c_(t-1),  dg = dc_t ⊙ i_t",
                "da_t = [di⊙i(1-i), df⊙f(1-f), dg⊙(1-g²), do⊙o(1-o)]",
                "dW = Σ_t x_tᵀ·da_t,  dU = Σ_t h_(t-1)ᵀ·da_t,  db = Σ_t Σ_n da_t,  dx_t = da_t·Wᵀ",
            ],
        }
