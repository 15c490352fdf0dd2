"""tanh for float32 arrays as a rational function that compiles to SIMD code; float64 keeps NumPy's.

NumPy's float32 tanh is not vectorized on every CPU: on this project's AVX2 host it costs ~7.4 ns
an element against 0.2 ns for a multiply, and an LSTM, a GRU and GELU call it on every gate of every
step (a 128-unit LSTM at batch 32 spends ~10 ms of a 70 ms step in it). Here float32 tanh is

    tanh(x) ≈ x p(x²) / q(x²)  on x clamped to ±7.9988,   x itself where |x| < 0.0004,

with p of degree 6 and q of degree 3 (Eigen's float tanh, whose coefficients come from a minimax
fit). Against tanh in float64 it is within 7 units in the last place of float32 (4e-7 absolute;
most inputs within 1, the worst near |x| = 5.9 where tanh is 0.99998), and it keeps NaN
(tests/nn/test_fast_math.py). Compiled (numba) it runs ~3.5x faster than NumPy's tanh here; the
NumPy rule does the same operations in the same order, so both paths give the same bits. float64
stays exact: NumPy's tanh, on both paths (float64 is the gradient checks' precision, where an
approximation of float32's accuracy would show).
"""

from __future__ import annotations

import numpy as np

from backprop_cli.jit import compiled, disabled
from backprop_cli.nn.kernels.threads import split_rows

# x p(x²) / q(x²): p's coefficients of x¹, x³, ..., x¹³ and q's of x⁰, x², x⁴, x⁶, rounded to float32
P = np.array(
    [4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05, 5.12229709037114e-08,
     -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16], dtype=np.float32,
)  # fmt: skip
Q = np.array([4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04, 1.19825839466702e-06], np.float32)
CLAMP = np.float32(7.99881172180175781)  # beyond it the rational function would turn back from ±1
TINY = np.float32(0.0004)  # below it tanh(x) rounds to x in float32


def tanh_function(dtype):
    """f(x, out=None): tanh of x into out (None: in place), both 2-D of `dtype`; chosen once, called often."""
    if np.dtype(dtype) != np.float32:
        return lambda x, out=None: np.tanh(x, out=x if out is None else out)
    found = None if disabled() else compiled("fast_math", _build).get("tanh32")
    return tanh32_rule if found is None else found


def tanh32_rule(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The rational tanh with NumPy operations: the kernel's arithmetic, step by step."""
    out = x if out is None else out
    v = np.clip(x, -CLAMP, CLAMP)  # NaN stays NaN
    x2 = v * v
    p = x2 * P[6]
    p += P[5]
    for c in P[4::-1]:  # Horner: p = ((P13 x² + P11) x² + ...) x² + P1
        p *= x2
        p += c
    p *= v
    q = x2 * Q[3]
    q += Q[2]
    for c in Q[1::-1]:
        q *= x2
        q += c
    p /= q
    small = np.abs(x) < TINY
    np.copyto(out, p, where=~small)
    np.copyto(out, x, where=small)
    return out


_tanh32_scalar = None  # the compiled scalar tanh, set by _build; the loops below reach it as a global


def _tanh32_scalar_rule(xv):  # pragma: no cover - runs compiled
    v = xv
    if v > CLAMP:
        v = CLAMP
    if v < -CLAMP:  # a NaN fails both tests and stays
        v = -CLAMP
    x2 = v * v
    p = x2 * P[6] + P[5]
    p = p * x2 + P[4]
    p = p * x2 + P[3]
    p = p * x2 + P[2]
    p = p * x2 + P[1]
    p = p * x2 + P[0]
    q = x2 * Q[3] + Q[2]
    q = q * x2 + Q[1]
    q = q * x2 + Q[0]
    return xv if abs(xv) < TINY else (p * v) / q


def _build(jit) -> dict:
    # A global, not a variable of this function: numba's disk cache keys a kernel by its closure's pickle,
    # and a compiled function pickles with an id new in every process, so a kernel that closed over it
    # missed the cache and compiled again in every process (~1.2 s), its index growing each time.
    global _tanh32_scalar
    _tanh32_scalar = jit(_tanh32_scalar_rule)  # small: LLVM inlines it into the loops, which then vectorize

    @jit
    def tanh32(x, out):  # pragma: no cover - runs compiled
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                out[i, j] = _tanh32_scalar(x[i, j])

    @jit
    def tanh32_inplace(x):  # pragma: no cover - runs compiled
        # one array: with two that alias, LLVM's overlap check sends the loop to its scalar version (3x slower)
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                x[i, j] = _tanh32_scalar(x[i, j])

    whole, in_place = split_rows(tanh32), split_rows(tanh32_inplace)  # elementwise: any split, the same bits

    def tanh(x, out=None):
        return in_place(x) if out is None else whole(x, out)

    return {"tanh32": tanh}


def warm_up() -> None:
    """Compile (or load from the disk cache) the float32 tanh for the array layouts the layers pass."""
    tanh = tanh_function(np.float32)
    a = np.zeros((2, 4), dtype=np.float32)
    tanh(a)
    tanh(a, np.empty_like(a))
    tanh(a[:, :2])  # a block of columns (a GRU's r and z)
