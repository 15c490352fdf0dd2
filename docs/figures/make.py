"""Regenerate every picture of the docs from real runs of the shipped configs.

    python docs/figures/make.py            # all of them (MNIST, Shakespeare and the adding problem take a while)
    python docs/figures/make.py spirals    # only the pictures whose name starts with one of the words

The views of docs/pictures.md: each run trains with `backprop train` into a temporary runs folder, then
`backprop plot RUN --view ...` writes the picture here; a few epochs are overridden (noted below) so
that the whole set takes minutes. The tutorials' pictures: the very commands their page shows, run in a
temporary folder with full epochs, the last one writing the picture here.
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


# picture file -> the page's shell commands; OUT is this picture's path
TUTORIAL_PICTURES = {
    "gradient-flow.png": [  # docs/watch-backprop.md, section 2
        "backprop train configs/deep-sigmoid.yaml --run-name deep-sigmoid --quiet",
        "backprop train configs/deep-relu-he.yaml --run-name deep-relu-he --quiet",
        "backprop plot runs/deep-sigmoid runs/deep-relu-he -o OUT",
    ],
    "lr-find.png": ["backprop lr-find configs/quickstart.yaml --steps 60 -o OUT"],  # watch-backprop.md, 5
    "optimizers.png": [  # watch-backprop.md, section 6
        "for o in sgd momentum adam; do"
        " backprop train configs/optimizers.yaml --set optimizer.type=$o --run-name opt-$o --quiet; done",
        "backprop plot runs/opt-sgd runs/opt-momentum runs/opt-adam -o OUT",
    ],
    "adding-gradient-over-time.png": [  # docs/sequences.md
        "backprop train configs/adding-rnn.yaml --run-name adding-rnn --quiet",
        "backprop train configs/adding-lstm.yaml --run-name adding-lstm --quiet",
        "backprop plot runs/adding-rnn runs/adding-lstm -o OUT",
    ],
    "sweep-halving.png": [  # docs/many-runs.md, section 7
        'HALVING=$(backprop sweep configs/sweeps/iris-halving.yaml --workers 2) && backprop plot "$HALVING" -o OUT',
    ],
}


def backprop(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "backprop_cli", *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"backprop {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout.strip()


def run_page_commands(picture: str, commands: list[str]) -> None:
    """The page's commands in a fresh folder beside a link to configs/, `backprop` being this Python's."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "configs").symlink_to(CONFIGS)
        script = "\n".join([f'backprop() {{ "{sys.executable}" -m backprop_cli "$@"; }}', "set -e",
                             *(c.replace("OUT", str(HERE / picture)) for c in commands)])  # fmt: skip
        print(f"drawing {picture}", file=sys.stderr)
        result = subprocess.run(["bash", "-c", script], cwd=tmp, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"{picture}: the commands failed:\n{result.stderr[-3000:]}")


def main(words: list[str]) -> None:
    for picture, commands in TUTORIAL_PICTURES.items():
        if not words or any(picture.startswith(w) for w in words):
            run_page_commands(picture, commands)
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
