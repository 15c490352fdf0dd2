"""Names in messages: the indefinite article a layer's name takes ("an attention layer", "a gru layer")."""

from __future__ import annotations

import pytest

from backprop_cli.config.names import a_or_an
from backprop_cli.errors import ConfigError
from backprop_cli.nn.registry import validate_layer_spec


@pytest.mark.parametrize(
    "word, said",
    [("attention", "an attention"), ("avgpool", "an avgpool"), ("embedding", "an embedding"), ("lstm", "an lstm"),
     ("rnn", "an rnn"), ("int", "an int"), ("ndarray", "an ndarray"), ("gru", "a gru"), ("dense", "a dense"),
     ("conv2d", "a conv2d"), ("maxpool", "a maxpool"), ("str", "a str"), ("", "a ")],
)  # fmt: skip
def test_the_article_is_the_one_the_word_is_said_with(word, said):
    assert a_or_an(word) == said


@pytest.mark.parametrize(
    "kind, said",
    [("embedding", "an embedding"), ("gru", "a gru"), ("avgpool2d", "an avgpool2d"), ("attention", "an attention")],
)
def test_a_misspelt_key_names_its_layer_with_the_right_article(kind, said):
    with pytest.raises(ConfigError, match=f"no_such_key: {said} layer has no key 'no_such_key'"):
        validate_layer_spec({"type": kind, "no_such_key": 1}, "model.layers.0")
