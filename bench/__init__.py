"""The benchmark: backprop against PyTorch and scikit-learn on this machine's cores (`python -m bench`).

Not part of the package or the test suite. See bench/README.md.
"""
