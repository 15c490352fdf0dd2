"""Normalization layers: batchnorm over the batch, layernorm over the features."""
