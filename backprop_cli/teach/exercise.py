"""`backprop exercise`: a layer with its backward blanked, and the grading of the learner's backward.

The exercises are plain-NumPy layers in teach/exercises/, one file each, written to be read; each
is also the reference solution, held equal to backprop's own layer by the test suite. `blank(name)`
is that file with the body of `backward` (after its docstring: the shapes and the chain-rule hint)
replaced by a TODO. `grade(path)` builds the learner's class and ours with the same weights, runs
both forward and backward on the same random batch, and compares every gradient (each parameter's,
then dx) as makemore's `cmp` does: exact (bit for bit), close (relative error <= 1e-6), or wrong,
with the largest difference and where it is. A file that passes is a valid plugin layer.
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from backprop_cli.errors import UserError
from backprop_cli.nn.base import Layer
from backprop_cli.nn.plugin import plugin_class
from backprop_cli.nn.plugin_source import describe_exception, module_of, provide_file
from backprop_cli.nn.registry import build_layer

CLOSE = 1e-6  # relative error of a correct backward computed in another order: ~1e-15 in float64
SEED = 0x45584552
TODO = (
    "        # TODO: compute the gradients above. Write each one in place (self.grads[name][...] = ...),\n"
    "        # return dx, then run: backprop exercise check THIS_FILE\n"
    '        raise NotImplementedError("backward is yours to write")\n'
)


@dataclass(frozen=True)
class Exercise:
    class_name: str
    args: dict  # the exercise class's constructor arguments in the check ...
    builtin: dict  # ... and the spec of the same layer of ours
    input_shape: tuple[int, ...]
    rows: int = 6


EXERCISES = {
    # a square W: a missing transpose gives wrong numbers (graded per tensor), not a crash
    "dense": Exercise("Dense", {"units": 4}, {"type": "dense", "units": 4}, (4,)),
    "relu": Exercise("ReLU", {}, {"type": "relu"}, (5,)),
    "sigmoid": Exercise("Sigmoid", {}, {"type": "sigmoid"}, (5,)),
    "batchnorm": Exercise("BatchNorm", {}, {"type": "batchnorm"}, (4,)),
    "layernorm": Exercise("LayerNorm", {}, {"type": "layernorm"}, (4, 5)),
    "conv1d": Exercise(
        "Conv1D",
        {"filters": 3, "kernel_size": 3, "padding": 1},
        {"type": "conv1d", "filters": 3, "kernel_size": 3, "padding": 1},
        (2, 7),
    ),
    "lstm": Exercise("LSTM", {"units": 3}, {"type": "lstm", "units": 3}, (2, 5)),
    "attention": Exercise("Attention", {"heads": 2}, {"type": "attention", "heads": 2}, (4, 5)),
}


def reference(name: str) -> str:
    """The exercise's full source: the reference solution."""
    return resources.files("backprop_cli.teach.exercises").joinpath(f"{name}.py").read_text(encoding="utf-8")


def blank(name: str) -> str:
    """The exercise as the learner gets it: `backward` keeps its docstring, its code is a TODO."""
    source = reference(name)
    cls = next(
        n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == EXERCISES[name].class_name
    )
    backward = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "backward")
    lines = source.splitlines(keepends=True)
    start, end = backward.body[1].lineno - 1, backward.end_lineno  # the statements after the docstring
    return "".join(lines[:start]) + TODO + "".join(lines[end:])


@dataclass
class Grade:
    """One gradient: exact, close or wrong (or missing), its largest difference from ours and where."""

    tensor: str  # "dW", "db", ..., "dx"
    shape: tuple[int, ...]
    verdict: str
    max_diff: float | None = None
    rel_error: float | None = None
    at: tuple[int, ...] | None = None
    note: str | None = None

    @property
    def right(self) -> bool:
        return self.verdict in ("exact", "close")


@dataclass
class Report:
    exercise: str
    file: str
    class_name: str
    input_shape: tuple[int, ...]
    problem: str | None = None  # why some gradients could not be graded
    grades: list[Grade] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.problem is None and all(g.right for g in self.grades)

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def grade(path: str | Path) -> Report:
    """Grade the exercise file at `path` against our layer (see the module docstring)."""
    source = provide_file(path, where=str(path), error=UserError)
    name = vars(module_of(source)).get("EXERCISE")
    if name not in EXERCISES:
        raise UserError(
            "is not an exercise file (it has no line EXERCISE = '<layer>')",
            where=str(path),
            fix=f"make one with: backprop exercise LAYER -o FILE (LAYER: {', '.join(EXERCISES)})",
        )
    ex = EXERCISES[name]
    report = Report(name, str(path), ex.class_name, ex.input_shape)
    ours, theirs = _twins(ex, plugin_class(source, ex.class_name), source.path, report)
    if theirs is not None:
        _compare(ours, theirs, ex, source.path, report)
    return report


def _twins(ex: Exercise, cls: type[Layer], path: str, report: Report) -> tuple[Layer, Layer | None]:
    """Our layer and the learner's, built alike, with the same weights (ours, moved off their initial values)
    and running statistics in both."""
    ours = build_layer(ex.builtin)
    ours.build(ex.input_shape, np.random.default_rng(SEED), np.float64)
    try:
        theirs = cls(**ex.args)
        theirs.build(ex.input_shape, np.random.default_rng(SEED), np.float64)
    except Exception as exc:  # noqa: BLE001 - the learner's code: reported, not raised
        report.problem = f"{ex.class_name} could not be built: {describe_exception(exc, path)}"
        return ours, None
    own = {k: p.shape for k, p in {**ours.params, **ours.state}.items()}
    made = {k: np.shape(p) for k, p in {**theirs.params, **theirs.state}.items()}
    if own != made:
        report.problem = f"build made {made}, but the layer has {own}: keep build as the exercise wrote it"
        return ours, None
    draw = np.random.default_rng(SEED + 2)
    for p in ours.params.values():  # away from the initial values (gamma = 1 would hide a forgotten gamma)
        p += 0.5 * draw.standard_normal(p.shape)
    for table, mine in ((theirs.params, ours.params), (theirs.state, ours.state)):
        for key, value in mine.items():
            table[key][...] = value
    return ours, theirs


def _compare(ours: Layer, theirs: Layer, ex: Exercise, path: str, report: Report) -> None:
    data = np.random.default_rng(SEED + 1)
    x = data.standard_normal((ex.rows, *ex.input_shape))
    y = ours.forward(x.copy(), True)
    try:
        their_y = theirs.forward(x.copy(), True)
    except Exception as exc:  # noqa: BLE001
        report.problem = f"forward raised {describe_exception(exc, path)}"
        return
    forward = _grade("y", their_y, y)
    if not forward.right:
        report.problem = f"forward differs from ours ({_detail(forward)}): keep forward as the exercise wrote it"
        return
    dy = data.standard_normal(y.shape)
    dx = ours.backward(dy.copy())
    before = dict(theirs.grads)
    expected = [(f"d{key}", ours.grads[key]) for key in ours.params] + [("dx", dx)]
    try:
        their_dx = theirs.backward(dy.copy())
    except NotImplementedError:
        report.problem = "backward is still a TODO: write it (its docstring gives every shape and the chain rule)"
        report.grades = [Grade(name, a.shape, "missing") for name, a in expected]
        return
    except Exception as exc:  # noqa: BLE001
        report.problem = f"backward raised {describe_exception(exc, path)}"
        report.grades = [Grade(name, a.shape, "missing") for name, a in expected]
        return
    for key in ours.params:
        g = _grade(f"d{key}", theirs.grads.get(key), ours.grads[key])
        if theirs.grads.get(key) is not before.get(key):
            g.verdict, g.note = "wrong", f"grads[{key!r}] was replaced, not written in place: training would not see it"
        report.grades.append(g)
    report.grades.append(_grade("dx", their_dx, dx))


def _grade(tensor: str, a, b: np.ndarray) -> Grade:
    """makemore's cmp: exact, close (relative to the tensor's scale) or wrong; the largest difference and where."""
    if a is None:
        return Grade(tensor, b.shape, "missing", note="not computed")
    a = np.asarray(a, dtype=np.float64)
    if a.shape != b.shape:
        return Grade(tensor, b.shape, "wrong", note=f"shape {a.shape}, expected {b.shape}")
    diff = np.abs(a - b)
    if not np.all(np.isfinite(diff)):
        return Grade(tensor, b.shape, "wrong", note="holds NaN or infinite values")
    at = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape)) if diff.size else None
    worst = float(diff.max(initial=0.0))
    rel = worst / max(float(np.abs(b).max(initial=0.0)), 1e-12)
    verdict = "exact" if worst == 0.0 else "close" if rel <= CLOSE else "wrong"
    return Grade(tensor, b.shape, verdict, worst, rel, at)


def _detail(g: Grade) -> str:
    return g.note or f"max |difference| {g.max_diff:.2e} at {list(g.at or ())}"


def write_exercise(name: str, path: Path) -> None:
    """The blanked exercise into a new file (never over an existing one: it may hold the learner's work)."""
    from backprop_cli.outputpath import check_output_file

    check_output_file(path, f"{name}.py")
    text = blank(name).replace("THIS_FILE", path.name)
    try:
        with open(path, "x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise UserError(
            "exists already; it may hold your work, so it is not overwritten", where=str(path), fix="choose another -o"
        ) from None
