"""Teaching tools on the user's own network: `explain` (formulas, shapes, FLOPs, memory), `trace` (every
number of a training step) and `lr-find` (the learning-rate range test).

    explain_network(config) -> dict;  run_trace(config, steps, rows, full) -> dict
    lr_range_test(config, start, end, steps) -> LrFindResult

A floor above train/ (it builds a run's parts without a run directory) and below cli/; no typer, no rich.
"""
