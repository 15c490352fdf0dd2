"""Exercise: the backward pass of multi-head scaled dot-product self-attention.

Write `backward` below, then grade it against backprop's own layer:

    backprop exercise check THIS_FILE

Once every gradient is right, this file is a layer you can train with, beside your config:

    - {type: plugin, path: THIS_FILE, class: Attention, args: {heads: 2}}
"""

import numpy as np

from backprop_cli import Layer

EXERCISE = "attention"


class Attention(Layer):
    """y = concat_h(softmax(Q_h K_hᵀ / sqrt(d) + M) V_h) Wo + bo,  Q = x Wq + bq,  K = x Wk,  V = x Wv + bv.

    x: (N, D, L) -> y: (N, D, L), D features at each of L steps. H heads split D into blocks of
    d = D / H. The causal mask M is -inf above the diagonal: step t attends to steps <= t only.
    K has no bias: adding the same number to a whole row of scores changes nothing after softmax.
    """

    regularized = ("Wq", "Wk", "Wv", "Wo")

    def __init__(self, heads=1, causal=True):
        super().__init__()
        self.heads, self.causal = int(heads), bool(causal)

    def build(self, input_shape, rng, dtype):
        dim, _ = input_shape
        limit = np.sqrt(6.0 / (2 * dim))
        self.params = {f"W{p}": rng.uniform(-limit, limit, (dim, dim)).astype(dtype) for p in "qkvo"}
        self.params.update({f"b{p}": np.zeros(dim, dtype=dtype) for p in "qvo"})
        self.grads = {key: np.zeros_like(p) for key, p in self.params.items()}
        return tuple(input_shape)

    def split(self, a):
        """(N, L, D) -> (N, H, L, d): the heads side by side."""
        n, length, dim = a.shape
        return a.reshape(n, length, self.heads, dim // self.heads).transpose(0, 2, 1, 3)

    def merge(self, a):
        """(N, H, L, d) -> (N, L, D): the inverse of split."""
        n, heads, length, d = a.shape
        return a.transpose(0, 2, 1, 3).reshape(n, length, heads * d)

    def forward(self, x, training):
        P = self.params
        self.xt = xt = x.transpose(0, 2, 1)  # (N, L, D): a step's features as a row
        self.q = self.split(xt @ P["Wq"] + P["bq"])  # (N, H, L, d)
        self.k = self.split(xt @ P["Wk"])
        self.v = self.split(xt @ P["Wv"] + P["bv"])
        self.scale = 1.0 / np.sqrt(self.q.shape[-1])
        scores = self.q @ self.k.transpose(0, 1, 3, 2) * self.scale  # (N, H, L, L)
        if self.causal:
            length = x.shape[2]
            scores = scores + np.triu(np.full((length, length), -np.inf), k=1)  # no step sees a later one
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        self.p = scores / scores.sum(axis=-1, keepdims=True)  # softmax over the keys
        self.o = self.merge(self.p @ self.v)  # (N, L, D)
        return (self.o @ P["Wo"] + P["bo"]).transpose(0, 2, 1)  # back to (N, D, L)

    def backward(self, dy):
        """Given dy = dL/dy, write the gradients of Wq, Wk, Wv, Wo, bq, bv, bo and return dL/dx.

        Shapes: x, dy, dx (N, D, L) (work in the (N, L, D) view xt, as forward did);
                Q, K, V, their gradients (N, H, L, d); P, dP, dS (N, H, L, L); W* (D, D); b* (D,).

        Chain rule, from the output back:
            y = O Wo + bo:          dWo = sum Oᵀ dy,  dbo = sum dy,  dO = dy Woᵀ  (then split into heads)
            O_h = P_h V_h:          dV = Pᵀ dO,  dP = dO Vᵀ
            P = softmax(S) per row: dS = P * (dP - rowsum(dP * P))
            S = Q Kᵀ * scale:       dQ = dS K * scale,  dK = dSᵀ Q * scale
            Q = x Wq + bq, ...:     dWq = sum xᵀ dQ (heads merged), dbq = sum dQ, likewise K (no bias) and V
            x feeds Q, K and V:     dx = dQ Wqᵀ + dK Wkᵀ + dV Wvᵀ   (three paths: their gradients add)
        "sum" is over the examples and the steps. Write each gradient in place: self.grads["Wq"][...] = ...
        """
        P, G = self.params, self.grads
        dyt = dy.transpose(0, 2, 1)  # (N, L, D)
        rows = lambda a: a.reshape(-1, a.shape[-1])  # noqa: E731  (N, L, D) -> (N L, D): every example and step
        G["Wo"][...] = rows(self.o).T @ rows(dyt)
        G["bo"][...] = rows(dyt).sum(axis=0)
        d_heads = self.split(dyt @ P["Wo"].T)  # dO: (N, H, L, d)
        dv = self.p.transpose(0, 1, 3, 2) @ d_heads
        dp = d_heads @ self.v.transpose(0, 1, 3, 2)
        ds = self.p * (dp - np.sum(dp * self.p, axis=-1, keepdims=True)) * self.scale
        dq, dk = ds @ self.k, ds.transpose(0, 1, 3, 2) @ self.q
        dx = np.zeros_like(dyt)
        for name, d in (("q", dq), ("k", dk), ("v", dv)):
            d = self.merge(d)  # (N, L, D)
            G[f"W{name}"][...] = rows(self.xt).T @ rows(d)
            if f"b{name}" in G:
                G[f"b{name}"][...] = rows(d).sum(axis=0)
            dx += d @ P[f"W{name}"].T
        return dx.transpose(0, 2, 1)
