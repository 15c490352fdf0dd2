"""Pictures of runs (matplotlib, an optional extra): learning curves, gradient flow."""
