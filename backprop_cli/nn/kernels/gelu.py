"""GELU in its tanh form, forward and backward: compiled loops (numba) beside the NumPy rules they replace.

    y = 0.5 x (1 + t),  t = tanh(c (x + a x³));   dx = dy (0.5 (1 + t) + 0.5 x (1 - t²) c (1 + 3 a x²))

The rules are GELU's arithmetic as NumPy writes it, eight passes forward and twelve backward over
a transformer MLP's (N L, 4 D) activations, each pass with its own temporary; a kernel makes one
(forward: one before the tanh, one after it). Both do the same float operations in the same order
and precision (constants in the array's dtype, no fused multiply-add), and the tanh between them is
the same function on both paths, so the two paths give the same bits (tests/nn/test_gelu_kernels.py).
Each element is its own, so the kernels split their rows over the cores (kernels/threads.py).

The tanh is kernels/fast_math.py's in float32; in float64 (the gradient checks' precision) it is
2 / (1 + exp(-2u)) - 1, the same function through exp: NumPy's float64 exp is vectorized and its tanh
is not (8 against 35 ns an element on an AVX2 host, a third of a transformer's float64 gradient check).
t enters the formulas above only as 1 + t and 1 - t², so an error of a few units in the last place of 1
is what np.tanh's own rounding gives there (tests/nn/test_gelu_kernels.py).
"""

from __future__ import annotations

import math

import numpy as np

from backprop_cli.jit import compiled, disabled
from backprop_cli.nn.kernels.fast_math import tanh_function
from backprop_cli.nn.kernels.threads import split_rows

C, A = math.sqrt(2.0 / math.pi), 0.044715
K = 3.0 * A  # the backward's 3a, as one constant (the rule's 3.0 * A * x * x multiplies it first)


def gelu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(y, t): GELU(x) and the tanh that backward reuses; new arrays of x's shape and dtype."""
    kern = _kernel("gelu_argument", x)
    if kern is None:
        t = C * (x + A * (x * x * x))  # x * x * x: x**3 calls pow(), ~1000x slower
        _tanh(x.dtype)(t)
        return 0.5 * x * (1.0 + t), t
    x2 = _matrix(x)
    t, y = np.empty_like(x2), np.empty_like(x2)
    c, a, half, one = _constants(x.dtype)
    kern(x2, t, c, a)
    _tanh(x.dtype)(t)
    _kernels()["gelu_output"](x2, t, y, half, one)
    return y.reshape(x.shape), t.reshape(x.shape)


def gelu_backward(dy: np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """dL/dx from dL/dy, the input x and the forward's tanh t."""
    kern = _kernel("gelu_backward", dy, x, t)
    if kern is None:
        du = C * (1.0 + K * x * x)
        return dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du)
    dx = np.empty_like(dy)
    c, _, half, one = _constants(x.dtype)
    kern(_matrix(dy), _matrix(x), _matrix(t), _matrix(dx), c, x.dtype.type(K), half, one)
    return dx


def _tanh(dtype):
    """tanh in place: fast_math's for float32, through exp for float64 (see the module doc)."""
    return _tanh_by_exp if np.dtype(dtype) == np.float64 else tanh_function(dtype)


def _tanh_by_exp(u: np.ndarray) -> np.ndarray:
    """tanh(u) = 2 / (1 + exp(-2u)) - 1, in place; exp's overflow (u < -354) gives exactly -1."""
    with np.errstate(over="ignore"):
        np.multiply(u, -2.0, out=u)
        np.exp(u, out=u)
    u += 1.0
    np.divide(2.0, u, out=u)
    u -= 1.0
    return u


def _matrix(a: np.ndarray) -> np.ndarray:
    """a C-contiguous array as 2-D (its first axis, the rest): the rows the kernels split over the cores."""
    return a.reshape(a.shape[0] if a.ndim > 1 else 1, -1)


def _constants(dtype) -> tuple:
    """c, a, 0.5 and 1 in `dtype`, as NumPy casts a Python float meeting an array of that dtype."""
    t = np.dtype(dtype).type
    return t(C), t(A), t(0.5), t(1.0)


_split: dict = {}  # name -> the kernel over the rows on the kernel threads (kernels/threads.py)


def _kernels() -> dict:
    if disabled():
        return {}
    if not _split:
        _split.update({name: split_rows(fn) for name, fn in compiled("gelu", _build).items()})
    return _split


def _kernel(name: str, *arrays: np.ndarray):
    """The compiled `name` when every array is C-contiguous with the first one's float dtype, else None (the rule)."""
    if not all(a.flags.c_contiguous and a.dtype == arrays[0].dtype for a in arrays) or arrays[0].dtype.kind != "f":
        return None
    return _kernels().get(name)


def _build(jit) -> dict:
    @jit
    def gelu_argument(x, t, c, a):  # pragma: no cover - runs compiled
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                v = x[i, j]
                t[i, j] = c * (v + a * (v * v * v))

    @jit
    def gelu_output(x, t, y, half, one):  # pragma: no cover - runs compiled
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                y[i, j] = half * x[i, j] * (one + t[i, j])

    @jit
    def gelu_backward(dy, x, t, dx, c, k, half, one):  # pragma: no cover - runs compiled
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                v, tv = x[i, j], t[i, j]
                du = c * (one + k * v * v)
                dx[i, j] = dy[i, j] * (half * (one + tv) + half * v * (one - tv * tv) * du)

    return {"gelu_argument": gelu_argument, "gelu_output": gelu_output, "gelu_backward": gelu_backward}


def warm_up(dtype) -> None:
    """Compile (or load from the disk cache) the kernels for `dtype` on a tiny array."""
    x = np.zeros((1, 2), dtype=dtype)
    y, t = gelu_forward(x)
    gelu_backward(y, x, t)
