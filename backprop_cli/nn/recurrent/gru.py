"""The gated recurrent unit (Cho et al. 2014), with PyTorch's gate equations and order (r, z, n)."""

from __future__ import annotations

import numpy as np

from backprop_cli.nn.kernels.recurrent import Steps
from backprop_cli.nn.recurrent.bptt import Recurrent


class GRU(Recurrent):
    """[r z] = σ(x_t·W_rz + h_{t-1}·U_rz + b_rz);  n = tanh(x_t·W_n + b_n + r⊙(h_{t-1}·U_n + b_hn));
    h_t = (1 - z)⊙n + z⊙h_{t-1}.   x: (N, C, L) -> (N, H), or (N, H, L) with return_sequences.

    PyTorch's torch.nn.GRU: W = weight_ih_l0ᵀ, U = weight_hh_l0ᵀ, b = bias_ih_l0 + [bias_hh_l0 of r, z; 0],
    b_hn = bias_hh_l0 of n (the only recurrent bias that is not a duplicate: r multiplies it).
    """

    kind = "gru"
    gates = 3
    extra_bias = 1
    pointwise = 12

    def _run(self, xw: np.ndarray, p: dict) -> tuple[np.ndarray, ...]:
        """hs (L+1, N, H) from h_0 = 0; acts (L, N, 3H) = r, z, n after σ/tanh; hn (L, N, H) = h·U_n + b_hn."""
        length, n, _ = xw.shape
        h = self.units
        hs = np.zeros((length + 1, n, h), dtype=xw.dtype)
        acts = np.empty((length, n, 3 * h), dtype=xw.dtype)
        hn = np.empty((length, n, h), dtype=xw.dtype)
        hu = np.empty((n, 3 * h), dtype=xw.dtype)
        steps = Steps(xw.dtype)  # the compiled step (kernels/recurrent.py), or its NumPy rule
        for t in range(length):
            np.matmul(hs[t], p["U"], out=hu)  # (N, H) @ (H, 3H): all three gates at once
            steps.gru(acts[t], xw[t], hu, p["b_hn"], hn[t], hs[t], hs[t + 1])
        return hs, acts, hn

    def _unroll(self, dh_seq, dh_last, cache, p, g) -> tuple[np.ndarray, np.ndarray]:
        """da (L, N, 3H): gradient of the input side x·W + b; dz: of the recurrent side h·U (r scales n's part)."""
        hs, acts, hn = cache
        length, n, h = acts.shape[0], acts.shape[1], self.units
        da, dz = np.empty_like(acts), np.empty_like(acts)
        dh = self._start(dh_last, (n, h), acts.dtype)
        dh_prev = np.empty((n, h), dtype=acts.dtype)
        steps = Steps(acts.dtype)
        for t in reversed(range(length)):
            if dh_seq is not None:
                dh += dh_seq[t]
            self._note(t, dh)
            steps.gru_backward(dh, acts[t], hn[t], hs[t], da[t], dz[t], dh_prev)  # da_t, dz_t; dh_prev = dh ⊙ z
            dh_prev += dz[t] @ p["U"].T  # (N, 3H) @ (3H, H): the path through the gates
            dh, dh_prev = dh_prev, dh
        return da, dz

    def _weight_grads(self, d, da, dz, hs, g) -> None:
        super()._weight_grads(d, da, dz, hs, g)
        np.sum(dz[:, :, 2 * self.units :], axis=(0, 1), out=g["b_hn"])  # db_hn = Σ dn ⊙ r, over steps and rows

    def explain(self) -> dict[str, list[str]]:
        return {
            "forward": [
                "[r z]_t = σ(x_t·W_rz + h_(t-1)·U_rz + b_rz)",
                "n_t = tanh(x_t·W_n + b_n + r_t ⊙ (h_(t-1)·U_n + b_hn))",
                "h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_(t-1),   h_0 = 0",
            ],
            "backward": [
                "dh_t = dy_t + dh_(t+1) ⊙ z_(t+1) + dz_(t+1)·Uᵀ",
                "dn = dh_t ⊙ (1 - z) ⊙ (1 - n²),  dzg = dh_t ⊙ (h_(t-1) - n) ⊙ z(1 - z),"
                "  dr = dn ⊙ (h_(t-1)·U_n + b_hn) ⊙ r(1 - r)",
                "da_t = [dr, dzg, dn] (input side),  dz_t = [dr, dzg, dn ⊙ r] (recurrent side)",
                "dW = Σ_t x_tᵀ·da_t,  dU = Σ_t h_(t-1)ᵀ·dz_t,  db = Σ da_t,  db_hn = Σ dn ⊙ r,  dx_t = da_t·Wᵀ",
            ],
        }
