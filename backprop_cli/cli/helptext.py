"""`--help` in one voice: every value a short metavar (N, X, FILE, KEY=VALUE), never typer's Python types
(`<list[str]>`, `<float range>`), every argument in capitals, and an example at the end of every command.

Applied once to the click command tree the app builds, so that a new option needs no metavar of its own
and a new command without an example fails the help test.
"""

from __future__ import annotations

EXAMPLES = {
    "train": "backprop train configs/quickstart.yaml --set optimizer.lr=0.01",
    "eval": "backprop eval runs/quickstart --json",
    "predict": "backprop predict runs/quickstart rows.csv --proba",
    "plot": "backprop plot runs/deep-sigmoid runs/deep-relu-he -o gradients.png",
    "gradcheck": "backprop gradcheck configs/deep-sigmoid.yaml",
    "export": "backprop export runs/digits --format onnx --proba",
    "import-weights": "backprop import-weights configs/digits.yaml torch.safetensors -o runs/from-torch",
    "explain": "backprop explain configs/mnist-mlp.yaml",
    "trace": "backprop trace configs/worked-example.yaml --precision 9",
    "lr-find": "backprop lr-find configs/mnist-mlp.yaml -o lr.png",
    "generate": 'backprop generate runs/shakespeare-transformer --prompt "ROMEO:" --length 200',
    "sweep": "backprop sweep configs/sweeps/iris.yaml --workers 2",
    "cv": "backprop cv configs/iris.yaml --folds 5",
    "check": "backprop check configs/quickstart.yaml",
    "report": "backprop report runs/quickstart -o report.html",
    "diff": "backprop diff runs/a runs/b --steps 50",
    "exercise": "backprop exercise dense -o dense.py",
    "exercise check": "backprop exercise check dense.py",
    "config show": "backprop config show configs/quickstart.yaml --set training.epochs=5",
    "config validate": "backprop config validate my.yaml",
    "config schema": "backprop config schema > backprop.schema.json",
    "data list": "backprop data list",
    "data download": "backprop data download mnist",
    "runs list": "backprop runs list runs",
    "runs show": "backprop runs show runs/quickstart",
    "runs compare": "backprop runs compare runs/opt-sgd runs/opt-adam",
    "runs export": "backprop runs export runs/quickstart -o metrics.csv",
}

_BY_TYPE = {"integer": "N", "float": "X", "path": "FILE", "choice": "NAME"}


def _metavar(param) -> str:
    """A short name for the value an option takes, from its name and type."""
    name = param.name.rstrip("_")
    if name == "set":
        return "KEY=VALUE"
    if name in ("output", "scheduler_file"):
        return "FILE"
    if name in ("runs_dir",):
        return "DIR"
    if name in ("resume",):
        return "RUN"
    type_name = getattr(getattr(param, "type", None), "name", "") or ""
    return _BY_TYPE.get((type_name.split() or [""])[0], name.upper())


def tidy(command, path: tuple[str, ...] = ()) -> None:
    """Fill every missing metavar and example in the click command tree, in place."""
    if hasattr(command, "commands"):
        for name, inner in command.commands.items():
            tidy(inner, (*path, name))
        return
    for param in command.params:
        if param.metavar is not None or getattr(param, "is_flag", False) or param.name == "help":
            continue
        param.metavar = param.name.upper() if param.param_type_name == "argument" else _metavar(param)
    example = EXAMPLES.get(" ".join(path))
    if example is not None and not command.epilog:
        command.epilog = f"Example: {example}"
