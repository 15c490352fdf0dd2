"""`backprop gradcheck`: every backward of a configured network against central finite differences.

The network is built in float64 whatever `training.dtype` says; a few rows of the configured data
go through it and the configured loss. Checked are every parameter (through the whole model) and
the input of every top-level layer: for layer i, the layers i.. form one parameter-free map whose
input gradient is compared alone, so a wrong dx is pinned to the layer that computes it. Dropout
replays one mask (the checker restores the generator), batchnorm runs in training mode. Large
tensors are checked on `samples` coordinates drawn with a fixed seed.

The check is made at a generic point: parameters that are exactly zero (biases, `init: zeros`) and
the inputs get a tiny random offset (JITTER), because relu has no derivative at 0 and max pooling
none at a tie, and images are full of constant pixels. The backward code is the same at any point.

A verdict needs both errors: finite differences of a loss of size |L| carry rounding noise of about
machine-eps * |L| / eps, so a vanishing gradient (deep sigmoid nets: 1e-9 and less) cannot show a small
relative error. An entry whose absolute error is below that noise floor passes as "noise".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from backprop_cli.config.schema import Config
from backprop_cli.diagnostics.finite_diff import TensorCheck, check_tensor, sample_coords
from backprop_cli.nn.attention.embedding import with_vocab_size
from backprop_cli.nn.base import Layer
from backprop_cli.nn.gradcheck import AUX_SEED
from backprop_cli.nn.model import Model, build_model, describe, walk_layers

DEFAULT_SAMPLES = 64  # coordinates per tensor: an MNIST MLP checks in about a second
DEFAULT_ROWS = 8  # a batch big enough for batchnorm's statistics, small enough to be fast
TOLERANCE = 1e-6  # max relative error in float64; a correct backward is usually near 1e-9
EPS = 1e-5  # the central-difference step (the checker's default)
NOISE_FLOOR = 100 * np.finfo(np.float64).eps / EPS  # absolute error explained by rounding, per unit of |L|
JITTER = 1e-3  # moves exact zeros and ties off relu kinks and max-pooling ties
JITTER_SEED = 0x6A17


@dataclass(frozen=True)
class GradcheckRow:
    """One checked tensor: `name` is "<layer>.<param>" or "<layer>.x" for the gradient of its input."""

    name: str
    layer: str
    layer_type: str
    tensor: str
    kind: str  # "param" | "input"
    shape: tuple[int, ...]
    n_checked: int
    n_failed: int  # sampled coordinates that disagree
    n_kinks: int  # coordinates next to a relu kink or a max-pooling tie: left out of the errors
    max_abs_error: float
    max_rel_error: float
    verdict: str  # "ok" | "noise" (below the rounding floor) | "FAIL"

    @property
    def passed(self) -> bool:
        return self.verdict != "FAIL"


@dataclass
class GradcheckReport:
    config_name: str | None
    rows_in_batch: int
    samples: int | None
    tolerance: float
    loss: float
    noise_floor: float
    entries: list[GradcheckRow] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(e.passed for e in self.entries)

    @property
    def failed(self) -> list[GradcheckRow]:
        return [e for e in self.entries if not e.passed]

    def to_dict(self) -> dict:
        return {
            "config": self.config_name,
            "batch_rows": self.rows_in_batch,
            "samples_per_tensor": self.samples,
            "tolerance": self.tolerance,
            "loss": self.loss,
            "noise_floor": self.noise_floor,
            "passed": self.passed,
            "failed": [e.name for e in self.failed],
            "entries": [{**asdict(e), "passed": e.passed} for e in self.entries],
        }


class _Tail(Layer):
    """Layers i.. of a model as one map with no parameters of its own: only dL/dx of layer i is checked."""

    def __init__(self, layers: list[Layer]):
        super().__init__()
        self.layers = layers

    def forward(self, x, training):
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, dy):
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy


def run_gradcheck(
    config: Config,
    samples: int | None = DEFAULT_SAMPLES,
    rows: int = DEFAULT_ROWS,
    tolerance: float = TOLERANCE,
    data=None,
) -> GradcheckReport:
    """Check the configured network on `rows` rows of its training data; `data` may be preloaded (float64)."""
    from backprop_cli.data import load_data
    from backprop_cli.nn.conv.windows import reads_sequences
    from backprop_cli.nn.losses import build_loss
    from backprop_cli.train.setup import check_model_fits, generators

    if data is None:
        data = load_data(config.data, config.seed, np.float64, sequences=reads_sequences(config.model.layers))
    check_model_fits(config, data.input_shape)
    model_rng, _ = generators(config.seed)
    layer_specs = with_vocab_size(config.model.layers, data.n_classes if getattr(data, "text", None) else None)
    model = build_model(layer_specs, data.input_shape, model_rng, np.float64)
    loss = build_loss(config.loss)
    loss.check_output(model.output_shape, data.n_classes)
    x, y = _batch(data.x_train, data.y_train, rows, config.seed)
    x = _generic_point(model, x)
    value, checks = check_model(model, loss, x, y, model_rng, samples, tolerance)
    report = GradcheckReport(config.name, len(x), samples, tolerance, value, noise_floor(value))
    report.entries = [_row(*c) for c in checks]
    return report


def noise_floor(loss_value: float) -> float:
    """The absolute error that rounding alone can cause in a central difference of this loss."""
    return NOISE_FLOOR * max(1.0, abs(loss_value))


def _generic_point(model: Model, x: np.ndarray) -> np.ndarray:
    """Give exact zeros among the parameters, and every input, a tiny random offset (see the module doc)."""
    jitter = np.random.default_rng(JITTER_SEED)
    for _, p, _ in model.named_params():
        zeros = p == 0.0
        p[zeros] = JITTER * jitter.standard_normal(int(zeros.sum()))
    return x + JITTER * jitter.standard_normal(x.shape)


def check_model(model: Model, loss, x, y, rng, samples: int | None, tolerance: float) -> tuple[float, list]:
    """The loss at x, and (layer name, layer, tensor, TensorCheck) for each top-level layer's parameters
    (its parts' too), then for its input ("x"), in model order.

    A parameter of top-level layer k is perturbed through layers k.. only, from the input and the
    generator state that layer saw in the full pass: the same numbers, without recomputing the prefix.
    """
    saved = {k: t.copy() for k, t in model.state_tensors().items()}
    input_grad, start = model.input_grad, rng.bit_generator.state
    probe = _Probe(loss, y, rng, samples, tolerance, np.random.default_rng(AUX_SEED))
    jitter = np.random.default_rng(JITTER_SEED + 1)
    model.input_grad = True  # every layer returns its dx, even the first
    try:
        value, inputs, states, dx = _full_pass(model, loss, x, y, rng)
        params = [_params_of(k, top) for k, top in enumerate(model.layers)]  # with copies of their gradients
        checks = []
        for k, top in enumerate(model.layers):
            tail = _Tail(model.layers[k:])
            for name, part, key, g in params[k]:
                checks.append((name, part, key, probe.check(part.params[key], g, tail, inputs[k], states[k], value)))
            h, f0, dh = inputs[0], value, dx
            if k > 0:  # each later input on its own, jittered off relu's exact zeros
                h = inputs[k] + JITTER * jitter.standard_normal(inputs[k].shape)
                f0, dh = probe.loss_and_input_grad(tail, h, states[k])
            checks.append((str(k), top, "x", probe.check(h, dh, tail, h, states[k], f0)))
    finally:
        rng.bit_generator.state = start
        model.input_grad = input_grad
        model.load_state_tensors(saved)
    return value, checks


@dataclass
class _Probe:
    """The loss of a map on the checked batch, with dropout's generator reset to a given state."""

    loss: object
    y: np.ndarray
    rng: np.random.Generator
    samples: int | None
    tolerance: float
    aux: np.random.Generator  # draws the sampled coordinates

    def loss_of(self, layer: Layer, x: np.ndarray, state: dict) -> float:
        self.rng.bit_generator.state = state  # dropout draws the same mask every time
        return float(self.loss.forward(layer.forward(x, True), self.y))

    def loss_and_input_grad(self, layer: Layer, x: np.ndarray, state: dict) -> tuple[float, np.ndarray]:
        f0 = self.loss_of(layer, x, state)
        return f0, np.array(layer.backward(self.loss.backward()), dtype=np.float64)

    def check(self, p: np.ndarray, g: np.ndarray, layer: Layer, x: np.ndarray, state: dict, f0: float):
        """Perturb p (a parameter, or the input x itself) and watch the loss of `layer` applied to x."""
        coords = sample_coords(p.size, self.samples, self.aux)
        f = lambda: self.loss_of(layer, x, state)  # noqa: E731
        return check_tensor(p, g, f, f0, EPS, coords, self.tolerance, noise_floor(f0))


def _params_of(k: int, top: Layer) -> list[tuple[str, Layer, str, np.ndarray]]:
    """(layer name, layer, key, a copy of the gradient) for top-level layer k and its parts."""
    parts = [(str(k), top), *walk_layers(top, f"{k}.")]
    return [(name, part, key, part.grads[key].copy()) for name, part in parts for key in part.params]


def _full_pass(model: Model, loss, x, y, rng):
    """Forward layer by layer, keeping each top-level layer's input and the generator state it met;
    then the loss and the backward pass. Returns (loss, inputs, states, dL/dx)."""
    inputs, states, h = [], [], np.array(x, dtype=np.float64)  # our own copy: the check perturbs it
    for layer in model.layers:
        inputs.append(h)
        states.append(rng.bit_generator.state)
        h = np.array(layer.forward(h, True))  # a copy: a view of the input (flatten) must not alias it
    value = float(loss.forward(h, y))
    dx = np.array(model.backward(loss.backward()), dtype=np.float64)
    return value, inputs, states, dx


def _batch(x: np.ndarray, y: np.ndarray, rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`rows` training rows picked from the seed (all of them when there are fewer)."""
    n = min(rows, len(x))
    idx = np.sort(np.random.default_rng(seed).choice(len(x), size=n, replace=False))
    return np.ascontiguousarray(x[idx], dtype=np.float64), y[idx]


def verdict(check: TensorCheck) -> str:
    """FAIL when a coordinate fails; "noise" when some are off only by rounding; else "ok"."""
    if check.n_failed or not (np.isfinite(check.max_abs_error) and np.isfinite(check.max_rel_error)):
        return "FAIL"
    return "noise" if check.n_noise else "ok"


def _row(layer: str, part: Layer, tensor: str, c: TensorCheck) -> GradcheckRow:
    return GradcheckRow(
        name=f"{layer}.{tensor}", layer=layer, layer_type=describe(part), tensor=tensor,
        kind="input" if tensor == "x" else "param", shape=c.shape, n_checked=c.n_checked, n_failed=c.n_failed,
        n_kinks=c.n_kinks, max_abs_error=c.max_abs_error, max_rel_error=c.max_rel_error, verdict=verdict(c),
    )  # fmt: skip


def failure_hint(report: GradcheckReport) -> str:
    """What to look at when entries fail: the layer's backward, or a kink the batch happened to hit."""
    first = report.failed[0]
    what = "its input gradient dx" if first.kind == "input" else f"the gradient of {first.tensor}"
    return (
        f"check the backward of layer {first.layer} ({first.layer_type}): {what} disagrees with finite "
        "differences; a lone failure next to a relu kink can be spurious: rerun with --set seed=<another>"
    )
