"""`--view attention`: one prompt's attention weights in each attention layer, one panel per head, the
prompt's characters on both axes (row: the step that attends, column: the step it reads)."""

from __future__ import annotations

import numpy as np

from backprop_cli.data.text import decode
from backprop_cli.lm import check_prompt, vocabulary_and_context
from backprop_cli.nn.model import walk_layers
from backprop_cli.nn.registry import layer_name
from backprop_cli.plot.figure import new_figure
from backprop_cli.plot.rundata import RunView

DEFAULT_PROMPT_LENGTH = 32


def attention_layers(view: RunView) -> list[tuple[str, object]]:
    return [(name, layer) for name, layer in walk_layers(view.trained.model) if layer_name(layer) == "attention"]


def default_prompt(view: RunView) -> str:
    """The start of the scored split's first window: text the model did not train on, when held out."""
    vocab, context = vocabulary_and_context(view.trained)
    _, x, _ = view.scored_split
    return decode(x[0][: min(DEFAULT_PROMPT_LENGTH, context)], vocab)


def attention_figure(view: RunView, prompt: str | None):
    vocab, context = vocabulary_and_context(view.trained)
    prompt = prompt if prompt is not None else default_prompt(view)
    ids = check_prompt(prompt, vocab, context)
    view.trained.model.forward(ids[None, :], training=False)
    layers = attention_layers(view)
    heads = max(layer.heads for _, layer in layers)
    side = 2.2 + 0.14 * len(prompt)
    fig = new_figure(side * heads + 1, side * len(layers) + 0.8, f"Attention of {view.run.name} on {prompt!r}")
    ticks = [repr(ch)[1:-1] if not ch.strip() else ch for ch in prompt]
    for row, (name, layer) in enumerate(layers):
        weights = np.asarray(layer.weights()[0], dtype=np.float64)  # (H, L, L)
        for h in range(layer.heads):
            ax = fig.add_subplot(len(layers), heads, row * heads + h + 1)
            image = ax.imshow(weights[h], cmap="magma", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(f"layer {name}, head {h}", fontsize="small")
            ax.set_xticks(range(len(ticks)), ticks, fontsize="xx-small", family="monospace")
            ax.set_yticks(range(len(ticks)), ticks, fontsize="xx-small", family="monospace")
            ax.set_xlabel("attends to", fontsize="x-small")
            if h == 0:
                ax.set_ylabel("step", fontsize="x-small")
    fig.colorbar(image, ax=fig.axes, shrink=0.6, label="attention weight")
    return fig
