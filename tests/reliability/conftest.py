"""Small configs for the fault scenarios, and one uninterrupted reference run per config and overrides."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .helpers import only_run, train

# ~25 steps an epoch, dropout (the model generator), momentum slots and a cosine schedule: every piece
# of state a resume must put back, in a run that takes a fraction of a second.
FAST = """\
name: fast
seed: 11
data: {dataset: spirals, n_samples: 240, noise: 0.1, validation_split: 0.2}
model:
  layers:
    - {type: dense, units: 16, activation: relu}
    - {type: dropout, rate: 0.1}
    - {type: dense, units: 3}
loss: cross_entropy
optimizer: {type: momentum, lr: 0.05, momentum: 0.9}
schedule: {type: cosine}
training: {epochs: 3, batch_size: 8}
"""

# ~360 steps an epoch (a tenth of a second or more), so that a signal sent at a random moment
# lands inside an epoch, between two steps; Adam's slots and its step counter.
SLOW = """\
name: slow
seed: 3
data: {dataset: digits, validation_split: 0.2}
model:
  layers:
    - {type: dense, units: 32, activation: relu}
    - {type: dropout, rate: 0.1}
    - {type: dense, units: 10}
loss: cross_entropy
optimizer: {type: adam, lr: 0.003}
schedule: {type: cosine}
training: {epochs: 3, batch_size: 4}
"""

# Regression whose learning rate ramps up until it diverges, in the second epoch.
SINE = """\
name: sine
seed: 0
data: {dataset: sine, validation_split: 0.2, n_samples: 400}
model:
  layers:
    - {type: dense, units: 16, activation: tanh}
    - {type: dense, units: 1}
loss: mse
optimizer: {type: sgd, lr: 0.05}
training: {epochs: 4, batch_size: 16}
"""

CONFIGS = {"fast": FAST, "slow": SLOW, "sine": SINE}


@pytest.fixture(scope="session")
def configs(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("configs")
    paths = {}
    for name, text in CONFIGS.items():
        paths[name] = directory / f"{name}.yaml"
        paths[name].write_text(text)
    return paths


# The references the tests ask for, made at once (two cores) on first use.
REFERENCES = [("fast", ()), ("slow", ()), ("fast", ("schedule.type=constant", "training.epochs=4"))]


@pytest.fixture(scope="session")
def reference(configs, tmp_path_factory):
    """reference(name, *sets) -> the run dir of an uninterrupted run of that config, made once."""
    made: dict[tuple, Path] = {}

    def make(key: tuple) -> Path:
        name, sets = key
        runs_dir = tmp_path_factory.mktemp(f"reference-{name}")
        result = train(configs[name], runs_dir, *sets)
        assert result.returncode == 0, result.stderr
        return only_run(runs_dir)

    with ThreadPoolExecutor(max_workers=3) as pool:
        made.update(zip(REFERENCES, pool.map(make, REFERENCES)))

    def get(name: str, *sets: str) -> Path:
        key = (name, sets)
        if key not in made:
            made[key] = make(key)
        return made[key]

    return get
