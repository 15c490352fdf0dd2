"""import-weights checks every tensor's values before a run directory exists: floating point, finite in the
run's dtype. Written with safetensors.numpy, so these run without PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import save_file

from tests.reliability.helpers import in_process

CONFIG = """\
name: mlp
seed: 0
data: {dataset: iris, validation_split: 0.2}
model:
  layers:
    - {type: dense, units: 5, activation: relu}
    - {type: dense, units: 3}
training: {epochs: 1, dtype: DTYPE}
"""


def state_dict(dtype=np.float32) -> dict[str, np.ndarray]:
    """nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))'s state dict, in PyTorch's layout."""
    rng = np.random.default_rng(0)
    return {"0.weight": rng.standard_normal((5, 4)).astype(dtype), "0.bias": np.zeros(5, dtype),
            "2.weight": rng.standard_normal((3, 5)).astype(dtype), "2.bias": np.zeros(3, dtype)}  # fmt: skip


def poisoned(name: str, index: tuple, value: float, dtype=np.float32) -> dict[str, np.ndarray]:
    tensors = state_dict(dtype)
    tensors[name][index] = value
    return tensors


BAD = [  # (tensors, run dtype, what the message says)
    (poisoned("2.weight", (1, 2), np.nan), "float32", "tensor '2.weight' holds 1 value(s) that are not finite in "
                                                      "float32 (the first: nan at index (1, 2))"),
    (poisoned("0.bias", (3,), -np.inf), "float64", "tensor '0.bias' holds 1 value(s) that are not finite"),
    (poisoned("0.weight", (0, 0), 1e300, np.float64), "float32", "(the first: 1e+300 at index (0, 0), beyond "
                                                                 "float32's range)"),
    (state_dict(np.int64), "float32", "has dtype int64; weights must be floating point"),
    (state_dict(np.bool_), "float64", "has dtype bool; weights must be floating point"),
    (state_dict(np.uint8), "float32", "has dtype uint8; weights must be floating point"),
]  # fmt: skip


@pytest.mark.parametrize("tensors, dtype, message", BAD, ids=["nan", "-inf", "beyond-float32", "int64", "bool", "u8"])
def test_a_bad_tensor_is_refused_before_the_run_directory_exists(tmp_path, tensors, dtype, message):
    (tmp_path / "c.yaml").write_text(CONFIG.replace("DTYPE", dtype))
    save_file(tensors, str(tmp_path / "w.safetensors"))
    for target in (("-o", tmp_path / "out" / "run"), ("--runs-dir", tmp_path / "runs")):
        result = in_process("import-weights", tmp_path / "c.yaml", tmp_path / "w.safetensors", *target)
        assert result.returncode == 2, result.stderr
        assert f"error: {tmp_path / 'w.safetensors'}: " in result.stderr and message in result.stderr
        assert "learning rate" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "run").exists() and not any((tmp_path / "runs").glob("*"))


@pytest.mark.parametrize(
    "dtype, run_dtype", [(np.float16, "float32"), (np.float64, "float32"), (np.float32, "float64")]
)
def test_finite_floating_weights_of_any_width_are_imported_exactly_as_cast(tmp_path, dtype, run_dtype):
    from backprop_cli.inference import load_trained

    (tmp_path / "c.yaml").write_text(CONFIG.replace("DTYPE", run_dtype))
    tensors = state_dict(dtype)
    save_file(tensors, str(tmp_path / "w.safetensors"))
    result = in_process("import-weights", tmp_path / "c.yaml", tmp_path / "w.safetensors", "-o", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    model = load_trained(tmp_path / "run").model.state_tensors()
    np.testing.assert_array_equal(model["1.W"], tensors["2.weight"].T.astype(run_dtype))
