"""Diagnostics: watching gradients flow.

    gradcheck.run_gradcheck(config, ...) -> GradcheckReport   finite differences over a configured network
    layer_stats.sample_layer_stats(model, ...) -> {layer: {...}} per-layer gradient/weight/activation statistics
    rules.WarningRules                                          once-per-run warnings from those statistics
    nonfinite.locate_nonfinite(model, x) -> str | None          where a NaN/inf first appeared

The library never imports typer or rich; the CLI prints.
"""
