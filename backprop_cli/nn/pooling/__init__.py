"""Pooling over image windows, sequence windows, and whole axes (global pooling)."""
