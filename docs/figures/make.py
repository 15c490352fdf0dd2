"""Regenerate the pictures of docs/pictures.md from real runs of the shipped configs.

    python docs/figures/make.py            # all of them (MNIST and Shakespeare train for a few minutes)
    python docs/figures/make.py spirals    # only the pictures whose name starts with one of the words

Each run trains with `backprop train` into a temporary runs folder, then `backprop plot RUN --view ...`
writes the picture here. A few epochs are overridden (noted below) so that the whole set takes minutes.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIGS = HERE.parents[1] / "configs"

# picture file -> (config, overrides, view, extra plot options)
PICTURES = {
    "spirals-boundary.png": ("spirals", [], "boundary", ["--epochs", "0,1,3,10,40,best"]),
    "deep-sigmoid-activations.png": ("deep-sigmoid", [], "activations", []),
    "deep-relu-he-activations.png": ("deep-relu-he", [], "activations", []),
    "mnist-cnn-filters.png": ("mnist-cnn", ["training.epochs=1"], "filters", []),
    "mnist-cnn-feature-maps.png": ("mnist-cnn", ["training.epochs=1"], "feature-maps", []),
    "mnist-cnn-confusion.png": ("mnist-cnn", ["training.epochs=1"], "confusion", []),
    "mnist-cnn-pr.png": ("mnist-cnn", ["training.epochs=1"], "pr", []),
    "shakespeare-attention.png": (
        "shakespeare-transformer",
        ["training.epochs=8"],
        "attention",
        ["--prompt", "But soft, what light through yonder"],
    ),  # fmt: skip
}


def backprop(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "backprop_cli", *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"backprop {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout.strip()


def main(words: list[str]) -> None:
    runs: dict[tuple, str] = {}  # one training per (config, overrides), shared by its pictures
    with tempfile.TemporaryDirectory() as tmp:
        for picture, (config, overrides, view, options) in PICTURES.items():
            if words and not any(picture.startswith(w) for w in words):
                continue
            key = (config, *overrides)
            if key not in runs:
                print(f"training {config} {' '.join(overrides)}", file=sys.stderr)
                sets = [arg for o in overrides for arg in ("--set", o)]
                runs[key] = backprop("train", str(CONFIGS / f"{config}.yaml"), *sets, "--runs-dir", tmp, "--quiet")
            print(backprop("plot", runs[key], "--view", view, *options, "-o", str(HERE / picture)))


if __name__ == "__main__":
    main(sys.argv[1:])
