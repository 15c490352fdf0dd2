"""The gated recurrent unit (Cho et al. 2014), with PyTorch's gate equations and order (r, z, n)."""

from __future__ import annotations

import numpy as np

from backprop_cli.nn.recurrent.bptt import Recurrent, sigmoid_


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
        for t in range(length):
            np.matmul(hs[t], p["U"], out=hu)  # (N, H) @ (H, 3H): all three gates at once
            a = acts[t]
            rz = np.add(xw[t][:, : 2 * h], hu[:, : 2 * h], out=a[:, : 2 * h])
            sigmoid_(rz)
            np.add(hu[:, 2 * h :], p["b_hn"], out=hn[t])
            cand = np.multiply(a[:, :h], hn[t], out=a[:, 2 * h :])  # r ⊙ (h·U_n + b_hn)
            cand += xw[t][:, 2 * h :]
            np.tanh(cand, out=cand)
            np.subtract(hs[t], cand, out=hs[t + 1])  # h_t = n + z ⊙ (h_{t-1} - n)
            hs[t + 1] *= a[:, h : 2 * h]
            hs[t + 1] += cand
        return hs, acts, hn

    def _unroll(self, dh_seq, dh_last, cache, p, g) -> tuple[np.ndarray, np.ndarray]:
        """da (L, N, 3H): gradient of the input side x·W + b; dz: of the recurrent side h·U (r scales n's part)."""
        hs, acts, hn = cache
        length, n, h = acts.shape[0], acts.shape[1], self.units
        da, dz = np.empty_like(acts), np.empty_like(acts)
        dh = self._start(dh_last, (n, h), acts.dtype)
        for t in reversed(range(length)):
            if dh_seq is not None:
                dh += dh_seq[t]
            self._note(t, dh)
            a, d, e = acts[t], da[t], dz[t]
            r, z, cand = a[:, :h], a[:, h : 2 * h], a[:, 2 * h :]
            np.multiply(dh * (1.0 - z), 1.0 - cand * cand, out=d[:, 2 * h :])  # dn ⊙ tanh'
            np.multiply(dh * (hs[t] - cand), z * (1.0 - z), out=d[:, h : 2 * h])  # dz ⊙ σ'
            np.multiply(d[:, 2 * h :] * hn[t], r * (1.0 - r), out=d[:, :h])  # dr ⊙ σ'
            e[:, : 2 * h] = d[:, : 2 * h]
            np.multiply(d[:, 2 * h :], r, out=e[:, 2 * h :])  # through r ⊙ (h·U_n + b_hn)
            dh_prev = dh * z  # h_{t-1} also reaches h_t directly, through z
            dh_prev += e @ p["U"].T  # (N, 3H) @ (3H, H)
            dh = dh_prev
        np.sum(dz[:, :, 2 * h :], axis=(0, 1), out=g["b_hn"])
        return da, dz

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
