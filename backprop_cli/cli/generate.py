"""`backprop generate`: sample text from a language model, each character written and flushed as it is produced."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from backprop_cli.cli.options import FiniteFloat, PluginFiles, hand_over_plugins
from backprop_cli.limits import TEMPERATURE_RANGE

TEMPERATURE = FiniteFloat(*TEMPERATURE_RANGE, zero="always the likeliest character")


def generate(
    checkpoint: Annotated[Path, typer.Argument(help="A run directory (or .safetensors) of a model trained on text.")],
    prompt: Annotated[
        str, typer.Option("--prompt", help="The text to continue (characters of the model's vocabulary).")
    ],
    length: Annotated[int, typer.Option("--length", min=1, max=1_000_000, help="Characters to generate.")] = 200,
    temperature: Annotated[
        float,
        typer.Option(
            "--temperature",
            parser=TEMPERATURE,
            help="Divides the scores: < 1 surer, > 1 wilder, 0 always the likeliest.",
        ),
    ] = 1.0,
    top_k: Annotated[
        Optional[int], typer.Option("--top-k", help="Sample among the k likeliest characters only.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="The same seed gives the same text.")] = 0,
    plugin: PluginFiles = None,
) -> None:
    """Continue PROMPT with characters sampled from the model; stdout gets the continuation only."""
    from backprop_cli.cli.output import writing_stdout
    from backprop_cli.inference import load_trained
    from backprop_cli.lm import sample_text

    hand_over_plugins(plugin)
    trained = load_trained(checkpoint)
    characters = sample_text(trained, prompt, length, temperature, top_k, seed)
    terminal = sys.stdout.isatty()
    with writing_stdout():
        if terminal:  # the prompt on stderr, so that the screen reads on while stdout holds only new text
            print(prompt, end="", file=sys.stderr, flush=True)
        for ch in characters:  # each character out as it comes, terminal or pipe: a closed pipe stops the work
            sys.stdout.write(ch)
            sys.stdout.flush()
        if terminal:
            sys.stdout.write("\n")
