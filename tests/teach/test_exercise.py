"""`backprop exercise`: each layer's backward left to the learner, graded per gradient against our layer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backprop_cli.diagnostics.admission import admit
from backprop_cli.nn.plugin import Plugin
from backprop_cli.nn.plugin_source import provide_file
from backprop_cli.teach.exercise import EXERCISES, blank, grade, reference
from tests import warm_process

NAMES = sorted(EXERCISES)


def written(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"my_{name}.py"
    path.write_text(text)
    return path


def verdicts(report) -> dict[str, str]:
    return {g.tensor: g.verdict for g in report.grades}


@pytest.mark.parametrize("name", NAMES)
def test_the_reference_solution_passes_with_every_gradient_exact_or_close(tmp_path, name):
    report = grade(written(tmp_path, name, reference(name)))
    assert report.passed, report
    expected = [f"d{key}" for key in ("W", "U", "b", "gamma", "beta", "Wq", "Wk", "Wv", "Wo", "bq", "bv", "bo")]
    assert set(verdicts(report)) == {"dx", *(t for t in expected if t in verdicts(report))}
    assert set(verdicts(report).values()) <= {"exact", "close"}


@pytest.mark.parametrize("name", NAMES)
def test_the_untouched_exercise_fails_saying_backward_is_a_todo(tmp_path, name):
    text = blank(name)
    assert "raise NotImplementedError" in text and "Chain rule" in text  # the docstring stays, the code goes
    assert text.split("def backward")[0] == reference(name).split("def backward")[0]  # forward is kept
    report = grade(written(tmp_path, name, text))
    assert not report.passed and report.problem.startswith("backward is still a TODO")
    assert report.grades and {g.verdict for g in report.grades} == {"missing"}


MISTAKES = [  # (layer, the reference's line, a learner's typical mistake, the gradients it breaks)
    ("dense", "= self.x.T @ dy", "= dy.T @ self.x", {"dW"}),  # dW without the transpose
    ("relu", "return dy * (self.x > 0)", "return dy", {"dx"}),  # the gradient not stopped at off units
    ("sigmoid", "return dy * self.y * (1.0 - self.y)", "return dy * self.y", {"dx"}),  # sigma' missing (1 - y)
    (
        "batchnorm",  # the paths through the batch mean and variance forgotten
        "return self.inv_std * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0))",
        "return self.inv_std * dxhat",
        {"dx"},
    ),
    ("layernorm", 'dxhat = dy * self.params["gamma"].reshape(self.bshape)', "dxhat = dy", {"dx"}),  # gamma forgotten
    ("conv1d", "dxp[:, :, self.taps(j)] +=", "dxp[:, :, self.taps(j)] =", {"dx"}),  # overlapping windows not summed
    ("lstm", "dU += h_prev.T @ da", "dU += (o * tanh_c).T @ da", {"dU"}),  # h_t where h_(t-1) belongs
    (
        "attention",  # the 1/sqrt(d) of the scores forgotten in their gradient
        "ds = self.p * (dp - np.sum(dp * self.p, axis=-1, keepdims=True)) * self.scale",
        "ds = self.p * (dp - np.sum(dp * self.p, axis=-1, keepdims=True))",
        {"dWq", "dWk", "dbq", "dx"},
    ),
]


@pytest.mark.parametrize("name, right, mistake, broken", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_typical_mistake_is_wrong_on_exactly_the_gradients_it_breaks(tmp_path, name, right, mistake, broken):
    assert right in reference(name)
    report = grade(written(tmp_path, name, reference(name).replace(right, mistake)))
    assert not report.passed and report.problem is None
    assert {t for t, v in verdicts(report).items() if v == "wrong"} == broken
    assert {v for t, v in verdicts(report).items() if t not in broken} <= {"exact", "close"}
    for g in report.grades:
        if g.verdict == "wrong":  # the largest difference, and where it is
            assert g.max_diff > 0 and g.rel_error > 1e-6 and len(g.at) == len(g.shape)


def test_a_gradient_replaced_instead_of_written_in_place_is_wrong(tmp_path):
    text = reference("dense").replace('self.grads["W"][...] = self.x.T @ dy', 'self.grads["W"] = self.x.T @ dy')
    report = grade(written(tmp_path, "dense", text))
    assert verdicts(report) == {"dW": "wrong", "db": "exact", "dx": "exact"}
    assert "not written in place" in report.grades[0].note


@pytest.mark.parametrize("name", NAMES)
def test_a_solved_exercise_is_a_plugin_admitted_by_the_gradcheck(tmp_path, name):
    path = written(tmp_path, name, reference(name))
    provide_file(path, where="test")
    ex = EXERCISES[name]
    layer = Plugin(str(path), ex.class_name, ex.args)
    layer.build(ex.input_shape, np.random.default_rng(0), np.float64)
    admit(layer, "model.layers.0")


def backprop(*args, cwd: Path):
    return warm_process.run(args, cwd=cwd, text=True)  # a real process, started warm


def test_exercise_then_check_then_train_with_it_as_a_plugin(tmp_path):
    made = backprop("exercise", "dense", "-o", "my_dense.py", cwd=tmp_path)
    assert made.returncode == 0 and made.stdout.strip() == "my_dense.py", made.stderr
    todo = backprop("exercise", "check", "my_dense.py", cwd=tmp_path)
    assert todo.returncode == 1 and "backward is still a TODO" in todo.stdout
    again = backprop("exercise", "relu", "-o", "my_dense.py", cwd=tmp_path)
    assert again.returncode == 2 and "not overwritten" in again.stderr  # the learner's work is kept
    (tmp_path / "my_dense.py").write_text(reference("dense"))
    solved = backprop("exercise", "check", "my_dense.py", "--json", cwd=tmp_path)
    assert solved.returncode == 0 and json.loads(solved.stdout)["passed"] is True
    (tmp_path / "c.yaml").write_text(
        "data: {dataset: iris}\nmodel:\n  layers:\n"
        "    - {type: plugin, path: my_dense.py, class: Dense, args: {units: 16}}\n"
        "    - {type: tanh}\n    - {type: dense, units: 3}\n"
        "optimizer: {type: adam, lr: 0.03}\ntraining: {epochs: 8, batch_size: 16}\n"
    )
    trained = backprop("train", "c.yaml", "--runs-dir", "runs", "--json", "--quiet", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert json.loads(trained.stdout)["best"]["val_loss"] < 0.5
