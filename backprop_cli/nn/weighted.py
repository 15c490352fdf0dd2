"""What Dense and Conv2D share: a weight W (penalized), an optional bias b, an inner activation, an init."""

from __future__ import annotations

from backprop_cli.names import lookup
from backprop_cli.nn.activations import ACTIVATIONS
from backprop_cli.nn.base import Layer
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
        self.init = init if init is not None else default_init(activation)
        lookup(INITIALIZERS, "initializer", self.init, "init")  # a typo fails here, not at build()
        self.init_scale = float(init_scale)
        self.use_bias = use_bias
