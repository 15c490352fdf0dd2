"""Layers, losses, initializers and the model: plain NumPy, every backward pass written out.

Import from the submodules (`backprop_cli.nn.model`, `backprop_cli.nn.registry`, ...); this package
module stays empty so that importing the config schema does not load every layer.
"""
