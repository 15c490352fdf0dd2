"""Weight initializers: name -> function, each `init(shape, fan_in, fan_out, rng, dtype, scale) -> ndarray`.

`scale` is the spec's `init_scale`: the std of `normal`, the limit of `uniform`, the value of
`constant`; the variance-scaling schemes (xavier, he, lecun) derive their scale from the fans and
ignore it. Scalars are Python floats so that a float32 array never meets a NumPy float64 scalar.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Literal

import numpy as np

from backprop_cli.errors import ConfigError

RELU_FAMILY = ("relu", "leaky_relu", "elu", "gelu")


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a dense (in, out) or conv (out, in, kh, kw) weight; a vector counts as square."""
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    if len(shape) >= 3:  # conv: each output sees in * kh * kw inputs
        receptive = math.prod(shape[2:])
        return int(shape[1]) * receptive, int(shape[0]) * receptive
    n = int(shape[0]) if shape else 1
    return n, n


def default_init(activation: str | None) -> str:
    """He after the relu family (keeps the variance through half-zeroed units), Glorot otherwise."""
    return "he_normal" if activation in RELU_FAMILY else "xavier_uniform"


def _normal(shape, rng: np.random.Generator, dtype, std: float) -> np.ndarray:
    w = rng.standard_normal(shape, dtype=dtype)
    w *= std  # in place: stays in dtype
    return w


def _uniform(shape, rng: np.random.Generator, dtype, limit: float) -> np.ndarray:
    w = rng.random(shape, dtype=dtype)  # [0, 1)
    w *= 2.0 * limit
    w -= limit  # [-limit, limit)
    return w


def zeros(shape, fan_in, fan_out, rng, dtype, scale=0.0) -> np.ndarray:
    """All zeros: every unit of a layer computes the same thing (the symmetry problem, on purpose)."""
    return np.zeros(shape, dtype=dtype)


def constant(shape, fan_in, fan_out, rng, dtype, scale=0.05) -> np.ndarray:
    """Every weight equals `scale`."""
    return np.full(shape, scale, dtype=dtype)


def normal(shape, fan_in, fan_out, rng, dtype, scale=0.05) -> np.ndarray:
    """N(0, scale^2)."""
    return _normal(shape, rng, dtype, float(scale))


def uniform(shape, fan_in, fan_out, rng, dtype, scale=0.05) -> np.ndarray:
    """U(-scale, scale)."""
    return _uniform(shape, rng, dtype, float(scale))


def xavier_uniform(shape, fan_in, fan_out, rng, dtype, scale=None) -> np.ndarray:
    """Glorot: U(-a, a), a = sqrt(6 / (fan_in + fan_out)), so Var = 2 / (fan_in + fan_out)."""
    return _uniform(shape, rng, dtype, math.sqrt(6.0 / (fan_in + fan_out)))


def xavier_normal(shape, fan_in, fan_out, rng, dtype, scale=None) -> np.ndarray:
    """Glorot: N(0, 2 / (fan_in + fan_out))."""
    return _normal(shape, rng, dtype, math.sqrt(2.0 / (fan_in + fan_out)))


def he_uniform(shape, fan_in, fan_out, rng, dtype, scale=None) -> np.ndarray:
    """He: U(-a, a), a = sqrt(6 / fan_in), so Var = 2 / fan_in."""
    return _uniform(shape, rng, dtype, math.sqrt(6.0 / fan_in))


def he_normal(shape, fan_in, fan_out, rng, dtype, scale=None) -> np.ndarray:
    """He: N(0, 2 / fan_in)."""
    return _normal(shape, rng, dtype, math.sqrt(2.0 / fan_in))


def lecun_normal(shape, fan_in, fan_out, rng, dtype, scale=None) -> np.ndarray:
    """LeCun: N(0, 1 / fan_in)."""
    return _normal(shape, rng, dtype, math.sqrt(1.0 / fan_in))


def orthogonal(shape, fan_in, fan_out, rng, dtype, scale=None) -> np.ndarray:
    """Saxe et al.: the (rows, prod(rest)) matrix has orthonormal rows or columns (whichever are fewer),
    so repeated multiplication by it neither grows nor shrinks a vector: the default for recurrent weights."""
    rows, cols = int(shape[0]), math.prod(shape[1:])
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))  # float64: QR in the precision it needs
    q, r = np.linalg.qr(a)  # q: (max, min) with orthonormal columns
    q *= np.sign(np.diag(r))  # signs from r make q uniformly distributed over the orthogonal matrices
    q = q if rows >= cols else q.T
    return np.ascontiguousarray(q.reshape(shape), dtype=dtype)


Initializer = Callable[..., np.ndarray]

INITIALIZERS: dict[str, Initializer] = {
    "zeros": zeros,
    "constant": constant,
    "normal": normal,
    "uniform": uniform,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_normal": lecun_normal,
    "orthogonal": orthogonal,
}
InitName = Literal[tuple(INITIALIZERS)]  # type: ignore[valid-type]  # what `init:` accepts


def initialize(name: str, shape: tuple[int, ...], rng: np.random.Generator, dtype, scale: float) -> np.ndarray:
    """Draw a weight of `shape` with the initializer called `name`, fans taken from the shape."""
    fan_in, fan_out = fans(shape)
    return INITIALIZERS[name](shape, fan_in, fan_out, rng, dtype, scale)


def given_values(init) -> list | None:
    """The numbers of `init: {values: ...}` (a validated spec or its dumped dict); None when init is a name."""
    if isinstance(init, Mapping):
        return init.get("values")
    return None if init is None or isinstance(init, str) else init.values


def check_given(init, bias_init, fan_in: int, units: int, use_bias: bool) -> None:
    """Values written in the config must have the layer's shapes: W (fan_in, units), b (units,)."""
    w, b = given_values(init), given_values(bias_init)
    if w is not None and (len(w), len(w[0])) != (fan_in, units):
        raise ConfigError(
            f"init.values has shape ({len(w)}, {len(w[0])}), but W of this dense layer has shape ({fan_in}, {units}) "
            f"({fan_in} inputs × {units} units)",
            fix=f"write {fan_in} row(s) of {units} number(s): row i holds the weights from input i to each unit",
        )
    if b is not None and not use_bias:
        raise ConfigError("bias_init.values is given, but use_bias is false", fix="remove one of them")
    if b is not None and len(b) != units:
        raise ConfigError(
            f"bias_init.values has shape ({len(b)},), but b of this dense layer has shape ({units},)",
            fix=f"write {units} number(s), one per unit",
        )
