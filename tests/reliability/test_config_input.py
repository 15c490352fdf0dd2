"""Configs and --set values through `backprop config validate` and
`backprop train`: exit 2, the file and line or the key path, a fix, no traceback; resource bombs
refused quickly under a 256 MiB address-space limit, nothing executed. Then properties: random and
mutated configs, random --set strings and random YAML text only ever raise the project's ConfigError.
"""

from __future__ import annotations

import copy
import string
import time

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.config.load import apply_override, build_config, parse_override
from backprop_cli.config.yamlsafe import parse_yaml
from backprop_cli.errors import ConfigError

from .helpers import assert_user_error, in_process, limit_memory, timed_all

BASE = """\
name: c
seed: 0
data: {dataset: xor, validation_split: 0.0}
model:
  layers:
    - {type: dense, units: 8, activation: tanh}
    - {type: dense, units: 2}
loss: cross_entropy
optimizer: {type: sgd, lr: 0.5}
training: {epochs: 2, batch_size: 4}
"""


def edit(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new)


def alias_bomb() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefg", "bcdefgh"):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\nname: *h\n"


# file name -> (its content: text, bytes, or None for no file; extra arguments; what stderr must say)
CASES = {
    # 19: malformed YAML
    "tab.yaml": (
        "name: c\ndata:\n\tdataset: xor\n",
        (),
        "tab.yaml:3:1: tabs are not allowed for indentation; use spaces",
    ),
    "bracket.yaml": ("name: c\nmodel: {layers: [\n", (), "bracket.yaml:3:1: expected the node content"),
    "latin1.yaml": (b"name: caf\xe9\n", (), "latin1.yaml: not UTF-8 text (byte 9); save the file as UTF-8"),
    "empty.yaml": ("", (), "empty.yaml: the config file is empty"),
    "list.yaml": ("- a\n- b\n", (), "list.yaml:1: the top level must be a mapping of sections, not a list"),
    "missing.yaml": (None, (), "missing.yaml: config file not found; check the path"),
    # 20: unknown keys and names, with did-you-mean
    "optimiser.yaml": (
        edit("optimizer:", "optimiser:"),
        (),
        "optimiser.yaml:9: optimiser: unknown key 'optimiser'; did you mean 'optimizer'?",
    ),
    "lrr.yaml": (
        BASE,
        ("--set", "optimizer.lrr=1"),
        "--set optimizer.lrr=1: optimizer.lrr: unknown key 'lrr'; did you mean 'lr'?",
    ),
    "dens.yaml": (
        edit("type: dense, units: 8", "type: dens, units: 8"),
        (),
        "dens.yaml:6: model.layers.0: unknown type 'dens'; did you mean 'dense'?",
    ),
    "relu6x.yaml": (
        edit("activation: tanh", "activation: relu6x"),
        (),
        "relu6x.yaml:6: model.layers.0.activation: unknown value 'relu6x'; did you mean 'relu'?",
    ),
    "mnistt.yaml": (
        edit("dataset: xor", "dataset: mnistt"),
        (),
        "mnistt.yaml:3: data.dataset: unknown value 'mnistt'; did you mean 'mnist'?",
    ),
    "past-the-end.yaml": (
        BASE,
        ("--set", "model.layers.9.units=3"),
        "--set model.layers.9.units=3: model.layers has 2 entries (0..1); there is no entry 9",
    ),
    # 21: wrong types and YAML 1.1 traps
    "lr-fast.yaml": (edit("lr: 0.5", "lr: fast"), (), "lr-fast.yaml:9: optimizer.lr: must be a number (got 'fast')"),
    "epochs-true.yaml": (
        edit("epochs: 2", "epochs: true"),
        (),
        "epochs-true.yaml:10: training.epochs: must be a whole number (got true)",
    ),
    "epochs-many.yaml": (
        edit("epochs: 2", "epochs: many"),
        (),
        "epochs-many.yaml:10: training.epochs: must be a whole number (got 'many')",
    ),
    "lr-nan.yaml": (edit("lr: 0.5", "lr: .nan"), (), "lr-nan.yaml:9: optimizer.lr: must be a finite number (got nan)"),
    "units-010.yaml": (
        edit("units: 8", "units: 010"),
        (),
        "units-010.yaml:6:28: '010' has a leading zero (YAML 1.1 reads it as octal)",
    ),
    "yes.yaml": (
        edit("dataset: xor,", "dataset: xor, scale_target: yes,"),
        (),
        "'yes' is ambiguous (YAML 1.1 reads it as a boolean)",
    ),
    "duplicate.yaml": (BASE + "seed: 1\n", (), "duplicate.yaml:11: duplicate key 'seed' (lines 2 and 11)"),
    # 22: out of range
    "units-negative.yaml": (edit("units: 8", "units: -4"), (), "model.layers.0.units: must be > 0 (got -4)"),
    "rate.yaml": (
        edit("activation: tanh}", "activation: tanh}\n    - {type: dropout, rate: 1.5}"),
        (),
        "rate.yaml:7: model.layers.1.rate: must be < 1 (got 1.5)",
    ),
    "batch-0.yaml": (edit("batch_size: 4", "batch_size: 0"), (), "training.batch_size: must be > 0 (got 0)"),
    "epochs-negative.yaml": (edit("epochs: 2", "epochs: -1"), (), "training.epochs: must be > 0 (got -1)"),
    "split-1.yaml": (
        edit("validation_split: 0.0", "validation_split: 1.0"),
        (),
        "data.validation_split: must be < 1 (got 1.0)",
    ),
    "units-1e9.yaml": (
        edit("units: 8", "units: 1000000000"),
        (),
        "model.layers.0.units: must be <= 1000000 (got 1000000000)",
    ),
    # 23: resource bombs
    "bomb.yaml": (alias_bomb(), (), "bomb.yaml:1:15: the document expands to more than 100,000 values"),
    "deep.yaml": ("name: " + "[" * 100_000 + "]" * 100_000 + "\n", (), "deep.yaml:1:70: nesting is too deep"),
    "python-tag.yaml": (
        'name: !!python/object/apply:os.mkdir ["PWNED"]\n',
        (),
        "python-tag.yaml:1:7: the tag 'tag:yaml.org,2002:python/object/apply:os.mkdir' is not allowed",
    ),
}
# Run as real processes (under a 256 MiB address-space limit): one or more of each scenario, and
# every resource bomb; the whole table also goes through the same main() in-process.
AS_PROCESSES = ("tab.yaml", "bomb.yaml", "deep.yaml", "python-tag.yaml")
TRAIN_TOO = ("bomb.yaml",)


def write_cases(base) -> None:
    for name, (content, _, _) in CASES.items():
        if isinstance(content, str):
            (base / name).write_text(content)
        elif isinstance(content, bytes):
            (base / name).write_bytes(content)


@pytest.fixture(scope="module")
def cases_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("configs")
    write_cases(base)
    with open(base / "big.yaml", "wb") as f:  # 100 MB, sparse: its size alone must refuse it
        f.write(b"name: c\n")
        f.truncate(100 * 2**20)
    return base


@pytest.fixture(scope="module")
def outcomes(cases_dir):
    """The AS_PROCESSES cases through `config validate`, some through `train`, all at once."""
    commands = [("config", "validate", name, *CASES[name][1]) for name in AS_PROCESSES]
    commands += [("config", "validate", "big.yaml")]
    commands += [("train", name, *CASES[name][1], "--runs-dir", "runs") for name in TRAIN_TOO]
    results = timed_all(commands, cwd=cases_dir, preexec_fn=limit_memory())
    return cases_dir, dict(zip(commands, results))


@pytest.mark.parametrize("name", CASES)
def test_a_bad_config_is_refused_by_config_validate_with_exit_2_and_where(cases_dir, name):
    result = in_process("config", "validate", name, *CASES[name][1], cwd=cases_dir)
    assert_user_error(result, 2, CASES[name][2])
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name", AS_PROCESSES)
def test_a_bad_config_is_refused_by_a_real_process_quickly_within_a_memory_limit(outcomes, name):
    _, results = outcomes
    result, seconds = results[("config", "validate", name, *CASES[name][1])]
    assert_user_error(result, 2, CASES[name][2])
    assert seconds < 5  # CPU seconds, start-up included: bombs and deep nesting are cut off early


@pytest.mark.parametrize("name", TRAIN_TOO)
def test_train_refuses_the_same_configs_before_anything_runs(outcomes, name):
    base, results = outcomes
    result, _ = results[("train", name, *CASES[name][1], "--runs-dir", "runs")]
    assert_user_error(result, 2, CASES[name][2])
    assert not (base / "runs").exists()


def test_a_100_mb_config_is_refused_by_its_size(outcomes):
    _, results = outcomes
    result, seconds = results[("config", "validate", "big.yaml")]
    assert_user_error(result, 2, "big.yaml: config file is 104,857,600 bytes; the limit is 1,000,000")
    assert seconds < 5


def test_nothing_in_a_config_is_ever_executed(outcomes):
    base, _ = outcomes
    in_process("config", "validate", "python-tag.yaml", cwd=base)
    assert not (base / "PWNED").exists()


def test_1e_minus_3_is_a_number_and_a_huge_model_is_refused_by_its_size_estimate(tmp_path):
    (tmp_path / "lr.yaml").write_text(edit("lr: 0.5", "lr: 1e-3"))
    huge = edit("units: 8, activation: tanh}", "units: 1000000}\n    - {type: dense, units: 1000000}")
    (tmp_path / "huge.yaml").write_text(huge)
    shown = in_process("config", "show", "lr.yaml", cwd=tmp_path)
    started = time.process_time()  # CPU time: a busy host stretches wall time, not the work done
    trained = in_process("train", "huge.yaml", "--runs-dir", "runs", cwd=tmp_path)
    seconds = time.process_time() - started
    assert shown.returncode == 0, shown.stderr
    assert yaml.safe_load(shown.stdout)["optimizer"]["lr"] == 0.001
    assert_user_error(trained, 2, "model.layers: the model has 1,000,006,000,002 parameters and would need about")
    assert seconds < 2  # refused by arithmetic, not by a MemoryError after trying
    assert not list((tmp_path / "runs").glob("*"))


# ---- properties ------------------------------------------------------------------------------------
VALID = yaml.safe_load(BASE)
KEYS = st.sampled_from(
    [
        "name",
        "seed",
        "data",
        "model",
        "loss",
        "optimizer",
        "training",
        "layers",
        "units",
        "type",
        "lr",
        "epochs",
        "batch_size",
        "activation",
        "rate",
        "dataset",
        "validation_split",
        "schedule",
        "regularization",
        "early_stopping",
        "output",
        "zz",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | st.sampled_from(["dense", "relu", "adam", "xor", "cosine", "mse", "1e-3", "010"])
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4), max_leaves=10
)


class Doc:
    """The smallest YamlDoc that build_config needs: data and a line for any key path."""

    def __init__(self, data):
        self.data, self.source = data, "prop.yaml"

    def where(self, path) -> str:
        return f"prop.yaml: {'.'.join(map(str, path))}"


def _mutate(data, draw) -> None:
    """Replace, delete or add one entry somewhere in the nested config."""
    node, path = data, []
    while isinstance(node, (dict, list)) and node and draw(st.booleans()):
        key = draw(st.sampled_from(list(node) if isinstance(node, dict) else list(range(len(node)))))
        if not isinstance(node[key], (dict, list)):
            break
        node, path = node[key], [*path, key]
    if isinstance(node, dict):
        key = draw(st.sampled_from(list(node)) | KEYS) if node else draw(KEYS)
        if draw(st.booleans()) and key in node:
            del node[key]
        else:
            node[key] = draw(VALUES)
    elif isinstance(node, list) and node:
        node[draw(st.integers(0, len(node) - 1))] = draw(VALUES)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_random_mutations_of_a_valid_config_validate_or_raise_config_error(data):
    config = copy.deepcopy(VALID)
    for _ in range(data.draw(st.integers(0, 4))):
        _mutate(config, data.draw)
    try:
        build_config(Doc(config))
    except ConfigError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=8))
def test_random_configs_validate_or_raise_config_error(config):
    try:
        build_config(Doc(config))
    except ConfigError:
        pass


SET_TEXT = st.text(alphabet=string.printable + "é…\x00", max_size=40)
SET_KEYS = st.lists(KEYS | st.integers(-2, 12).map(str) | st.text(max_size=4), min_size=1, max_size=4).map(".".join)


@settings(max_examples=200, deadline=None)
@given(SET_TEXT | st.tuples(SET_KEYS, SET_TEXT).map("=".join))
def test_random_set_strings_apply_or_raise_config_error(item):
    config = copy.deepcopy(VALID)
    try:
        path, value = parse_override(item)
        apply_override(config, path, value, item)
        build_config(Doc(config))
    except ConfigError:
        pass


YAML_CHARS = st.sampled_from(list(":-[]{},&*!|>'\"#%@`?\t\n ") + ["  ", "\n  ", "- ", ": "]) | st.text(max_size=3)


@settings(max_examples=200, deadline=None)
@given(st.lists(YAML_CHARS, max_size=40).map("".join))
def test_random_yaml_text_parses_or_raises_config_error(text):
    try:
        doc = parse_yaml(text, "prop.yaml")
    except ConfigError:
        return
    try:
        build_config(doc)
    except ConfigError:
        pass
