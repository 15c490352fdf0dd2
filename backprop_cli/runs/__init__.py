"""Run directories, the atomic writer, metrics and summary files, checkpoint save/load.

Import from the submodules (`backprop_cli.runs.checkpoint`, `.atomic`, `.rundir`, `.metrics_log`,
`.summary`, `.jsonio`); this package imports nothing, so the atomic writer stays cheap to load.
"""
