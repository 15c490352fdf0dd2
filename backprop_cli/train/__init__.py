"""The training loop and its callbacks (early stopping, checkpointing, NaN guard, monitor, progress)."""
