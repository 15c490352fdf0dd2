"""Activation layers: elementwise (or, for softmax, per-row) maps with no parameters.

Each keeps the last forward only, and keeps the output rather than the input where the derivative
can be written in terms of the output. Constants are Python floats: a float32 input stays float32.
"""

from __future__ import annotations

import math

import numpy as np

from backprop_cli.nn.base import Layer
from backprop_cli.nn.kernels.gelu import A as _GELU_A  # noqa: F401  (the ONNX export writes the same constants)
from backprop_cli.nn.kernels.gelu import C as _GELU_C  # noqa: F401
from backprop_cli.nn.kernels.gelu import gelu_backward, gelu_forward
from backprop_cli.nn.kernels.gelu import warm_up as warm_gelu


class Elementwise(Layer):
    """What the activations share for teaching: the shape they were built for (FLOPs count its elements) and
    the symbols their formulas use. Inside dense/conv2d the activation reads z and passes dz back, so
    WeightLayer renames the symbols of its inner activation."""

    symbols = {"x": "x", "y": "y", "dy": "dy", "dx": "dx"}

    def build(self, input_shape, rng, dtype):
        self.shape = tuple(input_shape)
        return self.shape

    def text(self, forward: str, backward: str) -> dict[str, list[str]]:
        """{"forward": [...], "backward": [...]} with {x}, {y}, {dy}, {dx} filled in with this layer's symbols."""
        return {"forward": [forward.format(**self.symbols)], "backward": [backward.format(**self.symbols)]}

    def per_element(self, batch: int, forward: int, backward: int) -> tuple[int, int]:
        """FLOPs of `forward` and `backward` operations per element (exp and tanh count 1) over batch * shape."""
        n = batch * math.prod(getattr(self, "shape", ()))
        return forward * n, backward * n


class ReLU(Elementwise):
    """y = max(x, 0);  dy/dx = 1[x > 0]."""

    def forward(self, x, training):
        self._mask = x > 0  # the whole derivative, as a boolean mask
        return np.maximum(x, 0)

    def backward(self, dy):
        return dy * self._mask  # one multiply: this is the hot path

    def explain(self) -> dict[str, list[str]]:
        return self.text("{y} = max({x}, 0)", "{dx} = {dy} ⊙ 1[{x} > 0]")

    def flops(self, batch: int) -> tuple[int, int]:
        return self.per_element(batch, 1, 1)  # a max; a multiply by the mask


class LeakyReLU(Elementwise):
    """y = x if x > 0 else alpha * x;  dy/dx = 1 or alpha."""

    def __init__(self, alpha: float = 0.01):
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x, training):
        self._mask = x > 0
        return np.where(self._mask, x, self.alpha * x)

    def backward(self, dy):
        return np.where(self._mask, dy, self.alpha * dy)

    def explain(self) -> dict[str, list[str]]:
        a = f"{self.alpha:g}"
        return self.text(f"{{y}} = {{x}} if {{x}} > 0 else {a}·{{x}}", f"{{dx}} = {{dy}} ⊙ (1 if {{x}} > 0 else {a})")

    def flops(self, batch: int) -> tuple[int, int]:
        return self.per_element(batch, 2, 1)  # compare, alpha * x; alpha * dy


class ELU(Elementwise):
    """y = x if x > 0 else alpha (e^x - 1);  dy/dx = 1 or y + alpha (so only the output is kept)."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x, training):
        # expm1 of min(x, 0): the positive branch never overflows, and small |x| keeps its precision
        self._y = np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))
        return self._y

    def backward(self, dy):
        y = self._y
        return np.where(y > 0, dy, dy * (y + self.alpha))  # y > 0 exactly where x > 0

    def explain(self) -> dict[str, list[str]]:
        a = f"{self.alpha:g}"
        scale = "" if self.alpha == 1.0 else f"{a}·"
        return self.text(
            f"{{y}} = {{x}} if {{x}} > 0 else {scale}(e^{{x}} − 1)",
            f"{{dx}} = {{dy}} ⊙ (1 if {{x}} > 0 else {{y}} + {a})",
        )

    def flops(self, batch: int) -> tuple[int, int]:
        return self.per_element(batch, 4, 3)  # compare, min, expm1, alpha *; compare, y + alpha, dy *


class GELU(Elementwise):
    """y = x Phi(x) in the tanh approximation 0.5 x (1 + tanh(c (x + a x^3))), c = sqrt(2/pi), a = 0.044715.

    The exact form needs erf, which NumPy does not vectorize (math.erf is scalar); the tanh form is
    what GPT-2 and BERT use, and the derivative below is the exact derivative of this approximation.
    """

    def forward(self, x, training):
        self._x = x
        y, self._t = gelu_forward(x)  # t = tanh(c (x + a x³)); one compiled pass each side of the tanh
        return y

    def warm_up(self) -> None:
        """Compile (or load) the float32 kernels (the dtype runs are timed in) before a timed loop starts."""
        warm_gelu(np.float32)

    def backward(self, dy):
        # d/dx [0.5 x (1 + t)] = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2)   (kernels/gelu.py)
        return gelu_backward(dy, self._x, self._t)

    def explain(self) -> dict[str, list[str]]:
        return self.text(
            "{y} = ½{x}(1 + t),  t = tanh(c({x} + a{x}³)),  c = √(2/π), a = 0.044715",
            "{dx} = {dy} ⊙ [½(1 + t) + ½{x}(1 − t²)·c(1 + 3a{x}²)]",
        )

    def flops(self, batch: int) -> tuple[int, int]:
        return self.per_element(batch, 9, 13)  # counted term by term in forward and backward above


class Sigmoid(Elementwise):
    """y = 1 / (1 + e^-x);  dy/dx = y (1 - y)."""

    def forward(self, x, training):
        self._y = 0.5 * (1.0 + np.tanh(0.5 * x))  # equals 1/(1+exp(-x)) and never overflows
        return self._y

    def backward(self, dy):
        return dy * self._y * (1.0 - self._y)

    def explain(self) -> dict[str, list[str]]:
        return self.text("{y} = σ({x}) = 1 / (1 + e^−{x})", "{dx} = {dy} ⊙ {y} ⊙ (1 − {y})   (σ' = σ(1 − σ))")

    def flops(self, batch: int) -> tuple[int, int]:
        return self.per_element(batch, 4, 3)  # 0.5 x, tanh, 1 +, 0.5 *; dy * y, 1 - y, *


class Tanh(Elementwise):
    """y = tanh(x);  dy/dx = 1 - y^2."""

    def forward(self, x, training):
        self._y = np.tanh(x)
        return self._y

    def backward(self, dy):
        return dy * (1.0 - self._y * self._y)

    def explain(self) -> dict[str, list[str]]:
        return self.text("{y} = tanh({x})", "{dx} = {dy} ⊙ (1 − {y}²)")

    def flops(self, batch: int) -> tuple[int, int]:
        return self.per_element(batch, 1, 3)  # tanh; y * y, 1 -, dy *


class Softmax(Elementwise):
    """y_i = e^{x_i} / sum_j e^{x_j} over the last axis;  dx = y * (dy - sum(dy * y)).

    For classification prefer a linear last layer and the fused `cross_entropy` loss: it is cheaper
    and stable where softmax followed by a log is not.
    """

    def forward(self, x, training):
        z = x - np.max(x, axis=-1, keepdims=True)  # shift: exp never overflows, result unchanged
        np.exp(z, out=z)
        z /= np.sum(z, axis=-1, keepdims=True)
        self._y = z
        return z

    def backward(self, dy):
        y = self._y
        return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))

    def explain(self) -> dict[str, list[str]]:
        return self.text("{y}ᵢ = e^{x}ᵢ / Σⱼ e^{x}ⱼ  (over the last axis)", "{dx} = {y} ⊙ ({dy} − Σᵢ {dy}ᵢ{y}ᵢ)")

    def flops(self, batch: int) -> tuple[int, int]:
        return self.per_element(batch, 5, 4)  # max, subtract, exp, sum, divide; dy * y, sum, subtract, y *


class Linear(Elementwise):
    """y = x;  dy/dx = 1."""

    def forward(self, x, training):
        return x

    def backward(self, dy):
        return dy

    def explain(self) -> dict[str, list[str]]:
        return self.text("{y} = {x}", "{dx} = {dy}")

    def flops(self, batch: int) -> tuple[int, int]:
        return self.per_element(batch, 0, 0)


ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "gelu": GELU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
    "linear": Linear,
}
