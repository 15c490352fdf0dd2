"""PyTorch state dicts (saved as safetensors) mapped onto our layers: by position, transposed, checked.

A state dict names tensors `<module>.<role>` ("0.weight", "features.3.running_mean"). Modules are put
in order by their names read as numbers where they are numbers ("2" before "10"; nn.Sequential's
order), and the i-th module with tensors goes to our i-th layer with tensors (model order, residual
blocks' parts in place, a projection last). Within a module, roles map by name (ROLES); Linear weights
are (out, in) in PyTorch and (in, out) here, so they are transposed. `num_batches_tracked` is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from backprop_cli.errors import UserError
from backprop_cli.nn.registry import layer_name

ROLES: dict[str, dict[str, str]] = {  # our layer type -> {PyTorch role: our tensor name}
    "dense": {"weight": "W", "bias": "b"},  # nn.Linear
    "conv2d": {"weight": "W", "bias": "b"},  # nn.Conv2d: (F, C, k, k) in both
    "batchnorm": {"weight": "gamma", "bias": "beta", "running_mean": "running_mean", "running_var": "running_var"},
    "layernorm": {"weight": "gamma", "bias": "beta"},  # nn.LayerNorm over the features
    "embedding": {"weight": "W"},  # nn.Embedding: (vocab_size, dim) in both
}
RECURRENT = ("rnn", "lstm", "gru")  # one PyTorch module, several roles per tensor of ours: _map_recurrent
TRANSPOSED = {("dense", "W")}  # nn.Linear.weight is (out, in); our W is (in, out)
IGNORED_ROLES = ("num_batches_tracked",)
ORDER_HINT = "modules are matched in the order of their names (2 before 10, `classifier` before `features`)"
PICKLED_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle", ".tar")
CONVERSION = (
    "convert it once, where you trust the file, with these two lines of Python:\n"
    "    import torch; from safetensors.torch import save_file\n"
    '    save_file({k: v.contiguous() for k, v in torch.load("model.pt", weights_only=True).items()}, '
    '"model.safetensors")'
)


def refuse_pickles(path: Path) -> None:
    """A .pt/.pth file is a pickle (in a zip): loading it can run any code it carries. Never opened as one."""
    with open(path, "rb") as f:
        head = f.read(4)
    if path.suffix.lower() in PICKLED_SUFFIXES or head.startswith((b"PK\x03\x04", b"\x80")):
        raise UserError(
            "is a pickled PyTorch file; backprop never unpickles files (unpickling runs whatever code the file holds)",
            where=str(path),
            fix=CONVERSION,
        )


def _natural(name: str) -> list:
    """ "features.10" after "features.2": digit runs compare as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name) if part]


def torch_modules(tensors: Mapping[str, np.ndarray]) -> list[tuple[str, dict[str, str]]]:
    """[(module prefix, {role: full tensor name})] in module order; ignored roles left out."""
    modules: dict[str, dict[str, str]] = {}
    for name in tensors:
        prefix, _, role = name.rpartition(".")
        if role not in IGNORED_ROLES:
            modules.setdefault(prefix, {})[role] = name
    return [(prefix, modules[prefix]) for prefix in sorted(modules, key=_natural)]


def our_layers(model) -> list[tuple[str, object]]:
    """("model.3.0", layer) for every layer that holds tensors, in checkpoint order."""
    return [(f"model.{name}", layer) for name, layer in model.named_layers() if layer.params or layer.state]


def _count_mismatch(ours: list, theirs: list) -> UserError:
    mine = ", ".join(f"{n} ({layer_name(layer)})" for n, layer in ours)
    other = ", ".join(prefix or "(top level)" for prefix, _ in theirs)
    return UserError(
        f"the weights file has {len(theirs)} modules with tensors, the config's model {len(ours)} layers with "
        f"tensors; PyTorch modules: {other}; our layers: {mine}",
        fix=f"give the config the same layers as the PyTorch network, in the same order; {ORDER_HINT}",
    )


def check_values(tensors: Mapping[str, np.ndarray], dtype: np.dtype, source: str) -> None:
    """Every tensor the model will take: floating point, and finite once cast to the run's dtype (a float64
    1e300 is inf in float32). A bad weight is refused before the run exists, naming the tensor and the entry."""
    for full, x in tensors.items():
        if full.rpartition(".")[2] in IGNORED_ROLES:
            continue
        if x.dtype.kind != "f":
            raise UserError(
                f"tensor {full!r} has dtype {x.dtype}; weights must be floating point (float16, float32, float64)",
                where=source,
                fix="save the state dict's floating-point tensors, e.g. {k: v.float() for k, v in sd.items()}",
            )
        with np.errstate(over="ignore", invalid="ignore"):
            bad = np.argwhere(~np.isfinite(x.astype(dtype, copy=False)))
        if len(bad):
            at = tuple(int(i) for i in bad[0])
            value = float(x[at])
            beyond = f", beyond {dtype}'s range" if np.isfinite(value) else ""
            raise UserError(
                f"tensor {full!r} holds {len(bad)} value(s) that are not finite in {dtype} (the first: {value:g} "
                f"at index {at}{beyond})",
                where=source,
                fix="export weights from a model that trained without diverging (check it with torch.isfinite)",
            )


def map_state_dict(model, tensors: Mapping[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
    """{our state tensor name ("3.W"): array} for model.load_state_tensors, every shape, dtype and value checked."""
    check_values(tensors, model.dtype, source)
    ours, theirs = our_layers(model), torch_modules(tensors)
    if len(ours) != len(theirs):
        raise _count_mismatch(ours, theirs)
    mapped = {}
    for (name, layer), (prefix, roles) in zip(ours, theirs):
        mapped.update(_map_module(name, layer, prefix, roles, tensors, source))
    return mapped


def _checked(tensors, full: str, needed: tuple, name: str, kind: str, what: str, source: str) -> np.ndarray:
    """The tensor, if its shape is `needed` (PyTorch's layout); else the user's error naming both shapes."""
    x = np.asarray(tensors[full])
    if x.shape != tuple(needed):
        raise UserError(
            f"tensor {full!r} has shape {tuple(x.shape)} but layer {name} ({kind}) needs {tuple(needed)} {what}",
            where=source,
            fix=f"change the config's sizes to the PyTorch network's; {ORDER_HINT}",
        )
    return x


def _wrong_roles(prefix, roles, name, kind, wanted, source) -> UserError:
    return UserError(
        f"module {prefix!r} has tensors {sorted(roles)}, but layer {name} ({kind}) needs {sorted(wanted)}",
        where=source,
        fix=f"check that the config's layers (and use_bias) match the PyTorch network, in order; {ORDER_HINT}",
    )


def _map_recurrent(name, layer, prefix, roles, tensors, source) -> dict[str, np.ndarray]:
    """nn.RNN/LSTM/GRU (one layer, batch_first or not): W = weight_ih_l0ᵀ, U = weight_hh_l0ᵀ, b = the two biases
    added (GRU: the candidate's recurrent bias is b_hn, as r multiplies it); `_reverse` for the second direction."""
    kind, h, g, short = layer_name(layer), layer.units, layer.gates, name.removeprefix("model.")
    parts = (
        ("weight_ih", (g * h, layer.n_in)),
        ("weight_hh", (g * h, h)),
        ("bias_ih", (g * h,)),
        ("bias_hh", (g * h,)),
    )
    wanted = {f"{part}_l0{d}" for d in layer.directions for part, _ in parts}
    if set(roles) != wanted:
        raise _wrong_roles(prefix, roles, name, kind, wanted, source)
    out = {}
    for d in layer.directions:
        t = {part: _checked(tensors, roles[f"{part}_l0{d}"], shape, name, kind, "(PyTorch's layout)", source)
             for part, shape in parts}  # fmt: skip
        out[f"{short}.W{d}"], out[f"{short}.U{d}"] = t["weight_ih"].T, t["weight_hh"].T
        b_hh = t["bias_hh"].copy()
        if kind == "gru":
            out[f"{short}.b_hn{d}"] = b_hh[2 * h :].copy()
            b_hh[2 * h :] = 0.0
        out[f"{short}.b{d}"] = t["bias_ih"] + b_hh
    return out


def _map_module(name, layer, prefix, roles, tensors, source) -> dict[str, np.ndarray]:
    kind = layer_name(layer)
    if kind in RECURRENT:
        return _map_recurrent(name, layer, prefix, roles, tensors, source)
    if kind not in ROLES:
        raise UserError(f"layer {name} ({kind}) has no PyTorch weight mapping yet", where=source)
    own = {**layer.params, **layer.state}
    wanted = {role for role, key in ROLES[kind].items() if key in own}
    if set(roles) != wanted:
        raise _wrong_roles(prefix, roles, name, kind, wanted, source)
    out = {}
    for role, key in ROLES[kind].items():  # weight first: the message names the tensor that says most
        if role not in roles:
            continue
        full = roles[role]
        transposed = (kind, key) in TRANSPOSED
        needed = own[key].shape[::-1] if transposed else own[key].shape
        layout = "(PyTorch's (out_features, in_features); W is its transpose)" if transposed else f"for its {key}"
        x = _checked(tensors, full, needed, name, kind, layout, source)
        out[f"{name.removeprefix('model.')}.{key}"] = x.T if transposed else x
    return out
