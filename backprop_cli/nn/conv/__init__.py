"""Convolutions over images (conv2d) and sequences (conv1d), and the window arithmetic they share."""
