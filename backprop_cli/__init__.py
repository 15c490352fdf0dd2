"""backprop: train neural networks written in plain NumPy, every backward pass explicit."""

__version__ = "0.1.0"
