"""The user's own layer, `{type: plugin, path: swish.py, class: Swish, args: {beta: 1.5}}`, behind one guard.

`Plugin` holds an instance of the user's class (a subclass of the public `backprop_cli.Layer`) and
shares its params, grads and state dicts, so the model's buffers, the optimizer and the checkpoint see
the user's tensors under the user's names (`model.1.beta`). Every call into the user's code goes
through `_call`: an exception, an output of the wrong shape or type becomes one PluginError naming
the file, the class and the last line of the user's own code that ran, never a traceback of ours.

The code itself comes from nn/plugin_source.py (only what the user handed over, by hash); that the
backward is right is proved before training by diagnostics/admission.py.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
from pydantic import ConfigDict, Field

from backprop_cli.config.names import a_or_an, suggest
from backprop_cli.config.spec import Spec
from backprop_cli.errors import ConfigError
from backprop_cli.nn.base import Layer
from backprop_cli.nn.plugin_source import PluginError, PluginSource, describe_exception, module_of, source_for


class PluginSpec(Spec):
    """The user's own layer: a subclass of backprop_cli.Layer in a Python file (docs/your-own-layer.md)."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True, validate_by_alias=True)
    type: Literal["plugin"]
    path: str = Field(min_length=1, max_length=4096)  # the .py file, relative to the config file's folder
    class_: str = Field(alias="class", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=200)  # the class in it
    args: dict[str, Any] = {}  # the class's constructor arguments, checked against its signature
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")  # the file's SHA-256, filled in on loading


def plugin_class(source: PluginSource, class_name: str, where: str | None = None) -> type[Layer]:
    """The class `class_name` of the source's module, which must subclass backprop_cli.Layer."""
    namespace = vars(module_of(source))
    cls = namespace.get(class_name)
    if not isinstance(cls, type):
        layers = [n for n, v in namespace.items() if isinstance(v, type) and issubclass(v, Layer) and v is not Layer]
        fix = (
            suggest(class_name, layers)
            if layers
            else "define `class MyLayer(Layer):` in it (see docs/your-own-layer.md)"
        )
        raise ConfigError(f"{source.name} defines no class {class_name!r}", where=where, fix=fix)
    if not issubclass(cls, Layer):
        raise ConfigError(
            f"{class_name} in {source.name} is not a layer",
            where=where,
            fix=f"subclass the public Layer: `from backprop_cli import Layer`, then `class {class_name}(Layer):`",
        )
    return cls


def check_args(cls: type[Layer], args: Mapping[str, Any], key_path: str) -> None:
    """`args` against the constructor's signature: an unknown key (with a did-you-mean) or a missing one is a
    ConfigError at `<key_path>.args.<key>`; a constructor taking **kwargs accepts any key."""
    params = {
        name: p
        for name, p in inspect.signature(cls).parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY, p.VAR_KEYWORD)
    }
    open_ended = any(p.kind is p.VAR_KEYWORD for p in params.values())
    named = [name for name, p in params.items() if p.kind is not p.VAR_KEYWORD]
    for key in args:
        if key not in named and not open_ended:
            fix = suggest(str(key), named) if named else f"{cls.__name__}() takes no arguments: remove `args`"
            raise ConfigError(f"{cls.__name__} has no argument {key!r}", where=f"{key_path}.args.{key}", fix=fix)
    for name in named:
        if params[name].default is inspect.Parameter.empty and name not in args:
            what, fix = f"{cls.__name__} needs the argument {name!r}", f"add `{name}: ...` to args"
            raise ConfigError(what, where=f"{key_path}.args", fix=fix)


class Plugin(Layer):
    """y = the user's forward(x); dx = the user's backward(dy), proved by a float64 gradcheck before training."""

    Spec = PluginSpec

    def __init__(self, path: str, class_: str | None = None, args: Mapping | None = None, sha256=None, **aliased):
        super().__init__()
        self.class_name = class_ or aliased.pop("class")  # `class` is a keyword: a resolved dict passes it so
        self.args = dict(args or {})
        self.path, self.file = path, path.rsplit("/", 1)[-1]  # as the config names it
        self.label = f"{self.file}:{self.class_name}"  # swish.py:Swish, in every message
        self.source = source_for(path, sha256, self.label, None)
        cls = plugin_class(self.source, self.class_name)
        self.inner: Layer = self._call("__init__", lambda: cls(**self.args))
        self.regularized = tuple(self.inner.regularized)
        self.input_shape: tuple[int, ...] | None = None
        self.output_shape: tuple[int, ...] | None = None

    @classmethod
    def estimate(cls, spec, shape: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        """A user's layer is measured by building it once (its code is the only statement of its size)."""
        layer = cls(spec.path, spec.class_, spec.args, spec.sha256)
        out = layer.build(shape, np.random.default_rng(0), np.float32)
        return _n_params(layer.inner), out

    def _call(self, stage: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except PluginError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the user's code raises is reported as theirs
            raise PluginError(
                f"{self.label} {stage} raised {describe_exception(exc, self.source.path)}",
                fix=f"fix {self.file}; `backprop gradcheck CONFIG` shows each gradient of the model",
            ) from None

    def build(self, input_shape, rng, dtype):
        out = self._call("build", lambda: self.inner.build(tuple(input_shape), rng, dtype))
        if not isinstance(out, (tuple, list)) or not all(isinstance(d, (int, np.integer)) and d > 0 for d in out):
            raise PluginError(
                f"{self.label} build returned {out!r}", fix="build must return the per-example output shape, a tuple"
            )
        self.params, self.grads, self.state = self.inner.params, self.inner.grads, self.inner.state  # shared dicts
        self.input_shape, self.output_shape = tuple(input_shape), tuple(int(d) for d in out)
        return self.output_shape

    def forward(self, x, training):
        y = self._call("forward", lambda: self.inner.forward(x, training))
        self._check_array("forward", y, (x.shape[0], *self.output_shape), "the output")
        self._x_shape = x.shape
        return y.astype(x.dtype, copy=False) if x.dtype.kind == "f" else y  # the float32 path stays float32

    def backward(self, dy):
        dx = self._call("backward", lambda: self.inner.backward(dy))
        self._check_array("backward", dx, self._x_shape, "dx")
        return dx.astype(dy.dtype, copy=False)

    def _check_array(self, stage: str, a, shape: tuple[int, ...], what: str) -> None:
        if not isinstance(a, np.ndarray) or a.shape != tuple(shape):
            got = f"shape {a.shape}" if isinstance(a, np.ndarray) else a_or_an(type(a).__name__)
            raise PluginError(
                f"{self.label} {stage} returned {got} for {what}, expected shape {tuple(shape)}",
                fix="forward returns (N, *the shape build returned); backward returns an array shaped like x",
            )

    def children(self) -> list[tuple[str, Layer]]:
        return self.inner.children()

    def explain(self) -> dict[str, list[str]]:
        if type(self.inner).explain is not Layer.explain:  # optional in a user's layer
            return self._call("explain", self.inner.explain)
        return {
            "forward": [f"y = {self.class_name}.forward(x)   (your code: {self.file})"],
            "backward": [f"dx = {self.class_name}.backward(dy)   (proved by a float64 gradcheck before training)"],
        }

    def flops(self, batch: int) -> tuple[int, int]:
        if type(self.inner).flops is not Layer.flops:  # optional; else one operation per output value each way
            return self._call("flops", lambda: self.inner.flops(batch))
        n = batch * math.prod(self.output_shape or (1,))
        return n, n


def _n_params(layer: Layer) -> int:
    return sum(p.size for p in layer.params.values()) + sum(_n_params(part) for _, part in layer.children())


def plugin_specs(layer_specs, key_path: str = "model.layers") -> list[tuple[str, Any]]:
    """(key path, spec) of every plugin layer in a list of specs (pydantic or resolved dicts), nested ones too."""
    found = []
    for i, spec in enumerate(layer_specs):
        get = spec.get if isinstance(spec, Mapping) else lambda key, s=spec: getattr(s, key, None)
        if get("type") == "plugin":
            found.append((f"{key_path}.{i}", spec))
        elif get("type") == "residual":
            found += plugin_specs(get("layers") or [], f"{key_path}.{i}.layers")
    return found
