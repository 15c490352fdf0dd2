"""Layers that only change the shape of their input: flatten, reshape."""
