"""Resume: the checkpoint's checksummed resolved config and its run identity are compared with
the run's config.yaml and summary; a copied-in checkpoint or an edited config.yaml is refused (exit 2,
naming each key), and nothing in the run changes. Then a property: every change of a resolved config's
leaf but a larger training.epochs is reported, under its own key path.
"""

from __future__ import annotations

import hashlib
import shutil

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.runs.compare import flatten
from backprop_cli.train.resume import IGNORED_KEYS, unsafe_changes

from .helpers import assert_user_error, in_process, resume


def digests(run) -> dict[str, str]:
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest() for p in run.rglob("*") if p.is_file()}


def test_a_checkpoint_copied_in_from_another_run_is_refused_and_changes_nothing(reference, tmp_path):
    run = shutil.copytree(reference("fast"), tmp_path / "mine")
    other = reference("fast", "schedule.type=constant", "training.epochs=4")
    shutil.copy(other / "checkpoints" / "last.safetensors", run / "checkpoints" / "last.safetensors")
    before = digests(run)
    result = resume(run, "--set", "training.epochs=6")  # a real process
    assert_user_error(result, 2, "last.safetensors: belongs to run", other.name, "copied in from another run")
    assert digests(run) == before  # no epoch 4, 5, 6 appended to another run's metrics


def test_a_config_yaml_edited_after_the_fact_is_refused_naming_each_key(reference, tmp_path):
    run = shutil.copytree(reference("fast"), tmp_path / "edited")
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["optimizer"]["lr"], config["data"]["n_samples"] = 0.5, 300  # another lr, another dataset
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    before = digests(run)
    result = in_process("train", "--resume", run, "--set", "training.epochs=6")
    assert_user_error(
        result, 2, "config.yaml: config.yaml differs from the config its checkpoint", "optimizer.lr: 0.05 -> 0.5",
        "data.n_samples: 240 -> 300",
    )  # fmt: skip
    assert digests(run) == before


def test_a_copied_run_directory_is_the_same_run_and_still_resumes(reference, tmp_path):
    run = shutil.copytree(reference("fast"), tmp_path / "copy")  # same id in its summary and checkpoints
    result = in_process("train", "--resume", run, "--set", "training.epochs=4", "--threads", "1", "--quiet")
    assert result.returncode == 0, result.stderr


# ---- property: every leaf change of a resolved config is named, except a larger training.epochs ------
CONFIG = {
    "name": "fast",
    "seed": 11,
    "data": {"dataset": "spirals", "n_samples": 240, "validation_split": 0.2, "path": None},
    "model": {"layers": [{"type": "dense", "units": 16, "activation": "relu"}, {"type": "dense", "units": 3}]},
    "optimizer": {"type": "momentum", "lr": 0.05, "momentum": 0.9},
    "training": {"epochs": 3, "batch_size": 8, "dtype": "float32"},
    "output": {"runs_dir": "runs", "checkpoint_every": 1},
}
LEAVES = sorted(flatten(CONFIG))
NEW_VALUES = st.integers(-5, 10**6) | st.floats(allow_nan=False) | st.text(max_size=5) | st.none() | st.booleans()


def _set(data, dotted: str, value):
    *head, last = [int(k) if k.isdecimal() else k for k in dotted.split(".")]
    for key in head:
        data = data[key]
    data[last] = value


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(LEAVES), value=NEW_VALUES)
def test_any_changed_leaf_is_reported_under_its_key_path_unless_it_is_more_epochs(key, value):
    import copy

    edited = copy.deepcopy(CONFIG)
    _set(edited, key, value)
    path = tuple(int(k) if k.isdecimal() else k for k in key.split("."))
    reported = {p for p, _, _ in unsafe_changes(CONFIG, edited)}
    old = flatten(CONFIG)[key]
    same = old == value and isinstance(old, bool) == isinstance(value, bool)  # 1 == 1.0 is no change
    more_epochs = key == "training.epochs" and isinstance(value, int) and not isinstance(value, bool) and value > 3
    if same or more_epochs or path in IGNORED_KEYS:
        assert reported == set()
    else:
        assert reported == {path}
