"""Compiled kernels (numba) beside the NumPy rules they replace, and BLAS thread control."""
