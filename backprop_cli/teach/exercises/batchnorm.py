"""Exercise: the backward pass of batch normalization (over a batch of vectors).

Write `backward` below, then grade it against backprop's own layer:

    backprop exercise check THIS_FILE

Once every gradient is right, this file is a layer you can train with, beside your config:

    - {type: plugin, path: THIS_FILE, class: BatchNorm}
"""

import numpy as np

from backprop_cli import Layer

EXERCISE = "batchnorm"


class BatchNorm(Layer):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, per feature, with the batch's mean and variance.

    x: (N, F). In training the statistics are the batch's; running averages of them (in `state`, saved
    with the model, never trained) replace them at inference.
    """

    def __init__(self, momentum=0.9, eps=1e-5):
        super().__init__()
        self.momentum, self.eps = float(momentum), float(eps)

    def build(self, input_shape, rng, dtype):
        (features,) = input_shape
        self.params = {"gamma": np.ones(features, dtype=dtype), "beta": np.zeros(features, dtype=dtype)}
        self.grads = {key: np.zeros_like(p) for key, p in self.params.items()}
        self.state = {"running_mean": np.zeros(features, dtype=dtype), "running_var": np.ones(features, dtype=dtype)}
        return (features,)

    def forward(self, x, training):
        gamma, beta = self.params["gamma"], self.params["beta"]
        if not training:
            return gamma * (x - self.state["running_mean"]) / np.sqrt(self.state["running_var"] + self.eps) + beta
        n = x.shape[0]
        mean = x.mean(axis=0)  # (F,)
        var = ((x - mean) ** 2).mean(axis=0)  # (F,), the biased variance: what normalizes this batch
        self.inv_std = 1.0 / np.sqrt(var + self.eps)  # (F,)
        self.xhat = (x - mean) * self.inv_std  # (N, F): backward needs it
        m = self.momentum  # the running variance is unbiased (n / (n - 1)), as in PyTorch
        self.state["running_mean"][...] = m * self.state["running_mean"] + (1 - m) * mean
        self.state["running_var"][...] = m * self.state["running_var"] + (1 - m) * var * n / max(n - 1, 1)
        return gamma * self.xhat + beta

    def backward(self, dy):
        """Given dy = dL/dy, write dL/dgamma and dL/dbeta into self.grads and return dL/dx.

        Shapes: x, xhat, dy, dx (N, F); gamma, beta, mean, var, inv_std, dgamma, dbeta (F,).

        Chain rule. The parameters are easy: y = gamma * xhat + beta, summed over the batch.
        dx is the lesson: every x[n, f] moves its own xhat[n, f], and also the batch's mean[f] and
        var[f], which every other row's xhat depends on. Three paths from x to the loss:
            dxhat = dy * gamma
            dvar  = sum_n dxhat * (x - mean) * -1/2 * (var + eps)^(-3/2)
            dmean = sum_n dxhat * -inv_std   (+ a term through var, which is zero: sum_n (x - mean) = 0)
            dx    = dxhat * inv_std + dvar * 2 (x - mean) / N + dmean / N
        which simplifies to inv_std * (dxhat - mean_n(dxhat) - xhat * mean_n(dxhat * xhat)).
        Write each gradient in place: self.grads["gamma"][...] = ...
        """
        xhat = self.xhat
        self.grads["gamma"][...] = np.sum(dy * xhat, axis=0)  # (F,)
        self.grads["beta"][...] = np.sum(dy, axis=0)  # (F,)
        dxhat = dy * self.params["gamma"]  # (N, F)
        return self.inv_std * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0))
