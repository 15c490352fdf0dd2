"""YAML is read as data: YAML 1.2 scalars, the 1.1 traps refused, duplicates and bombs caught, lines kept."""

from __future__ import annotations

import pytest

from backprop_cli.config.yamlsafe import parse_yaml, read_yaml_file
from backprop_cli.errors import ConfigError


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, "cfg.yaml")
    return str(info.value)


def test_scientific_notation_without_a_dot_is_a_float():
    assert parse_yaml("lr: 1e-3", "cfg.yaml").data == {"lr": 0.001}


def test_plain_scalars_follow_the_yaml_1_2_core_schema():
    data = parse_yaml("a: 3\nb: .5\nc: true\nd: ~\ne: text\nf: '010'\ng: -2", "cfg.yaml").data
    assert data == {"a": 3, "b": 0.5, "c": True, "d": None, "e": "text", "f": "010", "g": -2}


@pytest.mark.parametrize("value", ["yes", "on", "No", "off"])
def test_yaml_1_1_booleans_are_refused_with_a_fix(value):
    message = error_of(f"flag: {value}")
    assert "cfg.yaml:1" in message and "true or false" in message


def test_a_leading_zero_is_refused_rather_than_read_as_octal():
    message = error_of("model:\n  units: 010")
    assert "cfg.yaml:2" in message and "leading zero" in message and "write 10" in message


def test_duplicate_keys_name_both_lines():
    message = error_of("seed: 1\nname: a\nseed: 2")
    assert "lines 1 and 3" in message and "seed" in message


def test_tab_indentation_points_at_the_line_and_says_use_spaces():
    message = error_of("model:\n\tlayers: []")
    assert "cfg.yaml:2" in message and "use spaces" in message


def test_an_unclosed_bracket_points_at_the_file():
    assert "cfg.yaml:" in error_of("layers: [1, 2")


def test_python_tags_are_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    message = error_of(f"x: !!python/object/apply:os.system ['touch {marker}']")
    assert "not allowed" in message and not marker.exists()


def test_an_alias_bomb_is_refused():
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    assert "alias bomb" in error_of("\n".join(lines))


def test_deep_nesting_is_refused_before_the_recursive_parser_sees_it():
    assert "too deep" in error_of("a: " + "[" * 100_000 + "]" * 100_000)


def test_a_huge_config_file_is_refused_by_its_size(tmp_path):
    path = tmp_path / "big.yaml"
    with open(path, "wb") as f:
        f.truncate(100 * 1024 * 1024)  # sparse: costs no disk
    with pytest.raises(ConfigError, match="limit"):
        read_yaml_file(path)


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9".encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8"):
        read_yaml_file(path)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        read_yaml_file(tmp_path / "nope.yaml")


def test_every_key_path_has_its_line():
    doc = parse_yaml("data:\n  dataset: iris\nmodel:\n  layers:\n    - {type: dense, units: 3}\n", "cfg.yaml")
    assert doc.line_of(("data", "dataset")) == 2
    assert doc.line_of(("model", "layers", 0, "units")) == 5
    assert doc.line_of(("model", "missing")) == 3  # a missing key points at its parent


@pytest.mark.parametrize("text", ["!: :\n", "!!map 3: 1\n", "a: !!seq x\n", "!!str k: 1\n", "!foo k: 1\n"])
def test_a_tag_on_a_key_or_a_collection_tag_on_a_scalar_is_a_config_error(text):
    # found by Hypothesis ('!: :' was a KeyError traceback): every tag outside the plain scalars is refused
    if text == "!!str k: 1\n":
        assert parse_yaml(text, "t.yaml").data == {"k": 1}
        return
    with pytest.raises(ConfigError, match="tag"):
        parse_yaml(text, "t.yaml")
