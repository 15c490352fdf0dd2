"""backprop: train neural networks written in plain NumPy, every backward pass explicit.

`from backprop_cli import Layer` is the public, stable base class of a user's own layer (a plugin:
see docs/your-own-layer.md). It is imported on first use, so that `backprop --version` loads no NumPy.
"""

__version__ = "0.1.0"
__all__ = ["Layer", "__version__"]


def __getattr__(name: str):
    if name == "Layer":
        from backprop_cli.nn.base import Layer

        return Layer
    raise AttributeError(f"module 'backprop_cli' has no attribute {name!r}")
