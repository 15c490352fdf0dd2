"""The core layers: dense, activations, dropout, the residual block."""
