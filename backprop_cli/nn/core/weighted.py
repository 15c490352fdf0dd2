"""What Dense and Conv2D share: a weight W (penalized), an optional bias b, an inner activation, an init."""

from __future__ import annotations

from backprop_cli.config.names import lookup
from backprop_cli.nn.base import Layer
from backprop_cli.nn.core.activations import ACTIVATIONS
from backprop_cli.nn.initializers import INITIALIZERS, default_init


class WeightLayer(Layer):
    """y = act(linear map of x with W, + b). The activation is an inner parameter-free layer (not a
    child), so checkpoint names stay `model.<i>.W` and `model.<i>.b`. `init=None` picks he_normal after
    the relu family, xavier_uniform otherwise; biases start at zero."""

    regularized = ("W",)
    input_grad = True  # False: backward skips dx and returns None (a model's first layer: data needs no gradient)

    def __init__(
        self, activation: str | None = None, init: str | None = None, init_scale: float = 0.05, use_bias: bool = True
    ):
        super().__init__()
        self.activation = activation
        self.act = None  # linear: nothing to apply
        if activation not in (None, "linear"):
            self.act = lookup(ACTIVATIONS, "activation", activation, "activation")()
            self.act.symbols = {"x": "z", "y": "y", "dy": "dy", "dx": "dz"}  # it reads z, passes dz back
        self.init = init if init is not None else default_init(activation)
        lookup(INITIALIZERS, "initializer", self.init, "init")  # a typo fails here, not at build()
        self.init_scale = float(init_scale)
        self.use_bias = use_bias

    def warm_up(self) -> None:
        """Compile (or load) the inner activation's kernels before a timed loop starts (the loop walks layers,
        and the activation is not a child)."""
        if hasattr(self.act, "warm_up"):
            self.act.warm_up()

    def chain_text(self, linear: str, grads: list[str]) -> dict[str, list[str]]:
        """explain() of a weight layer: the linear map (into z, or y without an activation), the activation,
        then the activation's backward, the parameter gradients and dx (from dz, or dy without one).
        `linear` and `grads` are templates naming the pre-activation {z} and its gradient {dz}."""
        names = {"z": "z", "dz": "dz"} if self.act is not None else {"z": "y", "dz": "dy"}
        forward, backward = [linear.format(**names)], []
        if self.act is not None:
            inner = self.act.explain()
            forward += inner["forward"]
            backward += inner["backward"]
        backward += [g.format(**names) for g in grads]
        if not self.input_grad:
            backward[-1] = "dx: not computed (the first layer that trains: the data needs no gradient)"
        return {"forward": forward, "backward": backward}

    def act_flops(self, batch: int, out_shape: tuple[int, ...]) -> tuple[int, int]:
        """(forward, backward) FLOPs of the inner activation on outputs of `out_shape` (it is never built alone)."""
        if self.act is None:
            return 0, 0
        self.act.build(out_shape, None, None)
        return self.act.flops(batch)
