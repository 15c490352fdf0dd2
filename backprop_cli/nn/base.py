"""The layer contract: everything the rest of the program asks of a layer, declared here and nowhere else.

A layer type is one file (nn/<family>/<name>.py) holding its class, its `Spec` (the pydantic model of
its config keys) and the class methods below, plus one line in nn/registry.py. Optional hooks have
their defaults here, so no caller probes a layer with hasattr/getattr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from backprop_cli.config.spec import Spec

Shape = tuple[int, ...]


class Layer:
    """A differentiable map with explicit forward and backward passes.

    params, grads : dict[str, ndarray]  same keys and shapes; keys are checkpoint names (W, b, gamma, beta)
    state         : dict[str, ndarray]  saved with the model, never trained (running_mean, running_var)
    """

    # ---- what the class declares ----------------------------------------------------------------
    Spec: ClassVar[type[Spec]]
    """The pydantic model of the layer's config keys; its fields (but `type`) are the constructor's arguments."""

    keeps_shape: ClassVar[bool] = False
    """True for a layer without parameters whose output has its input's shape: that is then its estimate."""

    reads_ids: ClassVar[bool] = False
    """It reads the data's integer token ids, so it can only be a model's first layer."""

    reads_sequences: ClassVar[bool] = False
    """As a model's first layer it reads sequences (C, L): a 3-D data array is then (N, C, L), not an image."""

    regularized: tuple[str, ...] = ()
    """Names in `params` that L1/L2 penalties and weight decay apply to (weights, not biases)."""

    @classmethod
    def from_config(cls, **fields: Any) -> Layer:
        """The unbuilt layer of a spec's fields (all but `type`); by default they are the constructor's arguments."""
        return cls(**fields)

    @classmethod
    def estimate(cls, spec: Any, input_shape: Shape) -> tuple[int, Shape]:
        """(parameter count, output shape) from the spec alone, raising the errors build() would raise."""
        if cls.keeps_shape:
            return 0, tuple(input_shape)
        raise NotImplementedError(f"{cls.__name__} declares neither estimate() nor keeps_shape = True")

    @classmethod
    def reads_later_steps(cls, spec: Any, input_shape: Shape) -> str | None:
        """Why output step t of a sequence can depend on input steps after t (None: it never does)."""
        return None

    # ---- what an instance keeps and does --------------------------------------------------------
    input_grad: bool = True
    """False: backward may skip dL/dx and return None (a model's first trainable layer: data need no gradient)."""

    act: Layer | None = None
    """An inner activation applied to this layer's output (dense, conv): the gradient monitor reads its cache."""

    time_grad_norm: dict[str, float] | None = None
    """Recurrent layers: |dL/dh_t| at the first, middle and last step of the last backward."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}

    def build(self, input_shape: Shape, rng: np.random.Generator, dtype) -> Shape:
        """Allocate parameters for inputs of shape (N, *input_shape); return the per-example output shape."""
        return tuple(input_shape)

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        """y = f(x); keeps what backward needs, for this call only."""
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Given dL/dy, overwrite `grads` in place (never accumulate) and return dL/dx."""
        raise NotImplementedError

    def children(self) -> list[tuple[str, Layer]]:
        """Containers list their parts; dotted checkpoint names come from this walk."""
        return []

    def explain(self) -> dict[str, list[str]]:
        """The teaching text of a built layer: {"forward": [formulas], "backward": [chain-rule steps]}."""
        raise NotImplementedError

    def flops(self, batch: int) -> tuple[int, int]:
        """(forward, backward) floating-point operations of a built layer on a batch of `batch` examples."""
        raise NotImplementedError

    def warm_up(self) -> None:
        """Compile (or load) any kernel the layer runs, before a timed loop starts; most have none."""
