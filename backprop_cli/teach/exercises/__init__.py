"""The exercises of `backprop exercise`: one plain-NumPy layer per file, each its own reference solution.

These files are read as text (teach/exercise.py writes them out with backward blanked); the test
suite holds each one equal to backprop's own layer. Nothing in the package imports them.
"""
