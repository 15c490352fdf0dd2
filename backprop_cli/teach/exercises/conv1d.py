"""Exercise: the backward pass of a 1-D convolution over sequences.

Write `backward` below, then grade it against backprop's own layer:

    backprop exercise check THIS_FILE

Once every gradient is right, this file is a layer you can train with, beside your config:

    - {type: plugin, path: THIS_FILE, class: Conv1D, args: {filters: 16, kernel_size: 3}}
"""

import numpy as np

from backprop_cli import Layer

EXERCISE = "conv1d"


class Conv1D(Layer):
    """y[n, f, i] = b[f] + sum_c sum_j W[f, c, j] * x[n, c, s*i + j]  (x zero-padded by p steps on both sides).

    x: (N, C, L) -> y: (N, F, L_out), L_out = (L + 2p - k) // s + 1; W: (F, C, k), b: (F,).
    """

    regularized = ("W",)

    def __init__(self, filters, kernel_size, stride=1, padding=0):
        super().__init__()
        self.filters, self.k, self.s, self.p = int(filters), int(kernel_size), int(stride), int(padding)

    def build(self, input_shape, rng, dtype):
        channels, length = input_shape
        self.out_len = (length + 2 * self.p - self.k) // self.s + 1
        limit = np.sqrt(6.0 / ((channels + self.filters) * self.k))  # Glorot uniform
        self.params = {
            "W": rng.uniform(-limit, limit, (self.filters, channels, self.k)).astype(dtype),
            "b": np.zeros(self.filters, dtype=dtype),
        }
        self.grads = {key: np.zeros_like(p) for key, p in self.params.items()}
        return (self.filters, self.out_len)

    def taps(self, j):
        """The steps that tap j of the windows reads: j, j + s, ..., j + s (L_out - 1) (a slice of the padded x)."""
        return slice(j, j + self.s * (self.out_len - 1) + 1, self.s)

    def forward(self, x, training):
        self.length = x.shape[2]
        self.xp = np.pad(x, ((0, 0), (0, 0), (self.p, self.p)))  # (N, C, L + 2p): backward needs it
        W = self.params["W"]
        y = np.zeros((x.shape[0], self.filters, self.out_len), dtype=x.dtype) + self.params["b"][:, None]
        for j in range(self.k):  # tap j of every window at once
            y += np.einsum("fc,ncl->nfl", W[:, :, j], self.xp[:, :, self.taps(j)])  # (F, C) x (N, C, L_out)
        return y

    def backward(self, dy):
        """Given dy = dL/dy, write dL/dW and dL/db into self.grads and return dL/dx.

        Shapes: x (N, C, L), padded xp (N, C, L + 2p), W (F, C, k), b (F,), dy (N, F, L_out);
                dW (F, C, k), db (F,), dx (N, C, L).

        Chain rule, tap by tap as forward went: for tap j, y += W[:, :, j] applied to the slice
        xp[:, :, taps(j)], so
            dW[:, :, j] = sum over n and the positions of  dy * xp[:, :, taps(j)]   (einsum "nfl,ncl->fc")
            dxp[:, :, taps(j)]  +=  W[:, :, j] applied back to dy                    (einsum "fc,nfl->ncl")
            db[f] = sum over n and the positions of dy[n, f, :]
        A step that lies in several windows gets a gradient from each of them: add them up.
        Finally drop the padding: dx = dxp[:, :, p : p + L].
        """
        W = self.params["W"]
        dxp = np.zeros_like(self.xp)
        for j in range(self.k):
            self.grads["W"][:, :, j] = np.einsum("nfl,ncl->fc", dy, self.xp[:, :, self.taps(j)])
            dxp[:, :, self.taps(j)] += np.einsum("fc,nfl->ncl", W[:, :, j], dy)
        self.grads["b"][...] = dy.sum(axis=(0, 2))
        return dxp[:, :, self.p : self.p + self.length]
