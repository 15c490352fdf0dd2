"""Central differences of a scalar loss, one coordinate at a time, that recognize kinks.

A conv layer's weight touches every position of every image, so a perturbation of ±eps moves
thousands of pre-activations: one of them crossing relu's kink (or a max-pooling window changing
its winner) is likely, and the central difference there is a blend of two slopes. The one-sided
differences tell it apart from a wrong backward: at a kink, the analytic gradient is the slope on
its own side, so it agrees with one of (f+ - f0) / eps and (f0 - f-) / eps (up to eps * f'') while
the central difference is off; a wrong backward agrees with neither. Coordinates that fail and
whose analytic value matches one side ten times better than the central difference are counted as
kinks and left out of the errors; every other coordinate must agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from backprop_cli.nn.gradcheck import perturbed, relative_error

KINK_MATCH = 0.1  # a kink: the analytic value is this much closer to one one-sided slope than to the central one


@dataclass(frozen=True)
class TensorCheck:
    shape: tuple[int, ...]
    n_checked: int
    n_failed: int  # coordinates whose relative error reaches the tolerance, above the noise floor
    n_noise: int  # coordinates off by more than the tolerance, but by less than rounding explains
    n_kinks: int  # coordinates with a kink or a tie within ±eps: left out of the errors
    max_abs_error: float
    max_rel_error: float


def sample_coords(size: int, samples: int | None, rng: np.random.Generator) -> np.ndarray:
    """Every flat index, or `samples` of them drawn without replacement, in order."""
    if samples is None or size <= samples:
        return np.arange(size)
    return np.sort(rng.choice(size, size=samples, replace=False))


def check_tensor(
    p: np.ndarray,
    analytic: np.ndarray,
    f: Callable[[], float],
    f0: float,
    eps: float,
    coords: np.ndarray,
    tolerance: float,
    noise_floor: float,
) -> TensorCheck:
    """Perturb p[coords] by ±eps in place (restored); compare (f+ - f-) / 2 eps with `analytic` there.

    f0 is f at the unperturbed point. A coordinate fails when its relative error reaches `tolerance`
    and its absolute error is above `noise_floor`, the rounding error of the differences.
    """
    a = analytic.reshape(-1)[coords]
    numeric, one_sided = np.empty(len(coords)), np.empty(len(coords))
    for j, (f_plus, f_minus) in enumerate(perturbed(p, coords, eps, f)):
        numeric[j] = (f_plus - f_minus) / (2.0 * eps)
        one_sided[j] = min(abs(a[j] - (f_plus - f0) / eps), abs(a[j] - (f0 - f_minus) / eps))
    abs_err = np.abs(a - numeric)
    rel_err = relative_error(a, numeric)
    off = rel_err >= tolerance
    noise = off & (abs_err < noise_floor)
    kinked = off & ~noise & (one_sided <= KINK_MATCH * abs_err)
    smooth = ~kinked
    return TensorCheck(
        shape=tuple(p.shape),
        n_checked=len(coords),
        n_failed=int((off & ~noise & ~kinked).sum()),
        n_noise=int(noise.sum()),
        n_kinks=int(kinked.sum()),
        max_abs_error=float(abs_err[smooth].max(initial=0.0)),
        max_rel_error=float(rel_err[smooth].max(initial=0.0)),
    )
