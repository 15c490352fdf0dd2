"""Optimizers (one update rule each), learning-rate schedules, penalties and gradient clipping.

Build them by name with `backprop_cli.optim.registry.build_optimizer` / `build_schedule`.
"""
