"""Exercise: backpropagation through time in a long short-term memory (LSTM) layer.

Write `backward` below, then grade it against backprop's own layer:

    backprop exercise check THIS_FILE

Once every gradient is right, this file is a layer you can train with, beside your config:

    - {type: plugin, path: THIS_FILE, class: LSTM, args: {units: 32}}
"""

import numpy as np

from backprop_cli import Layer

EXERCISE = "lstm"


def sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))  # equals 1 / (1 + e^-a), and never overflows


class LSTM(Layer):
    """At each step t:  [i f g o] = [sigmoid sigmoid tanh sigmoid](x_t W + h_(t-1) U + b),
    c_t = f * c_(t-1) + i * g,  h_t = o * tanh(c_t),  from h_0 = c_0 = 0.

    x: (N, C, L) -> the last state h_L (N, H), or every state (N, H, L) with return_sequences.
    W: (C, 4H), U: (H, 4H), b: (4H,), the four gates' columns in the order i, f, g, o.
    """

    regularized = ("W", "U")

    def __init__(self, units, return_sequences=False):
        super().__init__()
        self.units, self.return_sequences = int(units), bool(return_sequences)

    def build(self, input_shape, rng, dtype):
        channels, self.length = input_shape
        h = self.units
        limit = np.sqrt(6.0 / (channels + 4 * h))
        b = np.zeros(4 * h, dtype=dtype)
        b[h : 2 * h] = 1.0  # the forget gate starts open: at first the cell keeps what it holds
        self.params = {
            "W": rng.uniform(-limit, limit, (channels, 4 * h)).astype(dtype),
            "U": (rng.standard_normal((h, 4 * h)) / np.sqrt(h)).astype(dtype),
            "b": b,
        }
        self.grads = {key: np.zeros_like(p) for key, p in self.params.items()}
        return (h, self.length) if self.return_sequences else (h,)

    def forward(self, x, training):
        n, h = x.shape[0], self.units
        W, U, b = self.params["W"], self.params["U"], self.params["b"]
        h_t = np.zeros((n, h), dtype=x.dtype)
        c_t = np.zeros((n, h), dtype=x.dtype)
        self.steps, states = [], []  # what backward needs of every step
        for t in range(x.shape[2]):
            x_t = x[:, :, t]  # (N, C)
            a = x_t @ W + h_t @ U + b  # (N, 4H): the four gates' pre-activations at once
            i, f, o = sigmoid(a[:, :h]), sigmoid(a[:, h : 2 * h]), sigmoid(a[:, 3 * h :])
            g = np.tanh(a[:, 2 * h : 3 * h])
            h_prev, c_prev = h_t, c_t
            c_t = f * c_prev + i * g
            tanh_c = np.tanh(c_t)
            h_t = o * tanh_c
            self.steps.append((x_t, h_prev, c_prev, i, f, g, o, tanh_c))
            states.append(h_t)
        return np.stack(states, axis=2) if self.return_sequences else h_t

    def backward(self, dy):
        """Given dy = dL/dy, write dL/dW, dL/dU, dL/db into self.grads and return dL/dx.

        Shapes: x (N, C, L), x_t (N, C), h_t, c_t and each gate (N, H), a (N, 4H);
                W, dW (C, 4H); U, dU (H, 4H); b, db (4H,); dy (N, H) or (N, H, L); dx (N, C, L).

        Chain rule, backwards through time (t = L-1 down to 0), carrying dh and dc from step t+1:
            dh_t = dy at step t (if the step is an output) + the gradient from step t+1 through U
            dc_t = dc from step t+1 * f_(t+1)  +  dh_t * o * (1 - tanh(c_t)^2)
            gates: do = dh_t * tanh(c_t),  di = dc_t * g,  df = dc_t * c_(t-1),  dg = dc_t * i
            da = [di * i(1-i), df * f(1-f), dg * (1-g^2), do * o(1-o)]   (N, 4H), through each squashing
            dW += x_tᵀ da,  dU += h_(t-1)ᵀ da,  db += sum_n da,  dx_t = da Wᵀ
            and back to step t-1:  dh = da Uᵀ,  dc = dc_t * f
        W, U and b are shared by every step: their gradients are sums over the steps.
        Write each gradient in place: self.grads["W"][...] = ...
        """
        W, U, h = self.params["W"], self.params["U"], self.units
        dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(self.params["b"])
        last = len(self.steps) - 1
        dx = np.zeros((dy.shape[0], W.shape[0], last + 1), dtype=dy.dtype)
        dh_next = np.zeros((dy.shape[0], h), dtype=dy.dtype)
        dc_next = np.zeros_like(dh_next)
        for t in reversed(range(last + 1)):
            x_t, h_prev, c_prev, i, f, g, o, tanh_c = self.steps[t]
            dh = dh_next + (dy[:, :, t] if self.return_sequences else (dy if t == last else 0.0))
            dc = dc_next + dh * o * (1.0 - tanh_c**2)  # h_t = o * tanh(c_t)
            da = np.concatenate(
                [dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g**2), dh * tanh_c * o * (1 - o)],
                axis=1,
            )  # (N, 4H)
            dW += x_t.T @ da  # (C, N) @ (N, 4H)
            dU += h_prev.T @ da  # (H, N) @ (N, 4H)
            db += da.sum(axis=0)
            dx[:, :, t] = da @ W.T  # (N, 4H) @ (4H, C)
            dh_next, dc_next = da @ U.T, dc * f  # to step t-1: through U, and through the forget gate
        self.grads["W"][...], self.grads["U"][...], self.grads["b"][...] = dW, dU, db
        return dx
