"""Export a checkpoint (or a run's best) to a file other tools read: ONNX or npz, written atomically."""

from __future__ import annotations

from pathlib import Path

from backprop_cli.errors import UserError
from backprop_cli.inference import load_trained
from backprop_cli.outputpath import check_output_file
from backprop_cli.runs.atomic import atomic_write_bytes
from backprop_cli.runs.rundir import newest_run_named

FORMATS = ("onnx", "npz")


def default_output(source: Path, fmt: str) -> Path:
    """RUN/model.<fmt> for a run directory; beside the checkpoint (best.<fmt>) for a file."""
    source = newest_run_named(source) or Path(source)
    return source / f"model.{fmt}" if source.is_dir() else source.with_suffix(f".{fmt}")


def export_model(source: str | Path, fmt: str = "onnx", output: str | Path | None = None, proba: bool = False) -> Path:
    """Write the model of `source` as `fmt` to `output` (default: default_output) and return the path."""
    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r}", where="--format", fix=f"choose one of {', '.join(FORMATS)}")
    if proba and fmt != "onnx":
        raise UserError("--proba applies to ONNX graphs only", where="--proba", fix="drop it, or use --format onnx")
    path = Path(output) if output is not None else default_output(Path(source), fmt)
    # the user's path, before any work: exit 2 (a full disk stays exit 1); never over the checkpoint it reads
    check_output_file(path, f"model.{fmt}", inputs=[source])
    trained = load_trained(source)
    if fmt == "onnx":
        from backprop_cli.interop.onnx_export import export_onnx

        data = export_onnx(trained, proba).SerializeToString()
    else:
        from backprop_cli.interop.npz_export import export_npz

        data = export_npz(trained)
    atomic_write_bytes(path, data)
    return path
