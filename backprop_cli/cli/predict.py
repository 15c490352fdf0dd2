"""`backprop predict`: raw feature rows in (CSV or NPY, a file or stdin), one prediction per row out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from backprop_cli.cli.options import PluginFiles, hand_over_plugins

FORMATS = ("csv", "json", "npy")


def predict(
    checkpoint: Annotated[
        Path, typer.Argument(metavar="CHECKPOINT_OR_RUN", help="A .safetensors checkpoint or a run directory.")
    ],
    source: Annotated[
        str, typer.Argument(metavar="INPUT", help="A CSV or NPY file of feature rows, or - for stdin.")
    ] = "-",
    fmt: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="Output: csv | json (one object per line) | npy.")
    ] = "csv",
    proba: Annotated[bool, typer.Option("--proba", help="Class probabilities instead of labels.")] = False,
    plugin: PluginFiles = None,
) -> None:
    """Predict each input row: its class label (or probabilities), or its value in the target's units."""
    from backprop_cli.errors import UserError

    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}", where="--format", fix=f"choose one of {', '.join(FORMATS)}")
    from backprop_cli.cli.output import writing_stdout
    from backprop_cli.data import read_feature_rows
    from backprop_cli.inference import check_predicts_rows, load_trained, predict_rows

    hand_over_plugins(plugin)
    trained = load_trained(checkpoint)
    check_predicts_rows(trained)  # before stdin is read: a language model is refused at once
    names = trained.data_meta.get("feature_names")  # a header's columns are matched by these names
    src = _read_stdin() if source == "-" else source
    rows = read_feature_rows(src, source="<stdin>" if source == "-" else None, wanted=names)
    result = predict_rows(trained, rows.x, rows.columns, rows.source, proba)
    with writing_stdout():  # a full device: exit 1 with a message; a closed pipe: exit 141, quietly
        _write(result, fmt, proba)


def _read_stdin() -> bytes:
    """stdin's bytes, bounded; on a terminal, first say that it is being read (else predict seems to hang)."""
    from backprop_cli.userfiles import read_stdin

    if sys.stdin is not None and sys.stdin.isatty():
        print(
            "reading feature rows from stdin (CSV, one row per line); end with Ctrl-D, "
            "or give a file: backprop predict RUN rows.csv",
            file=sys.stderr,
            flush=True,
        )
    return read_stdin()


def _write(result: dict, fmt: str, proba: bool) -> None:
    import numpy as np

    from backprop_cli.cli.output import write_bytes

    out = sys.stdout
    if "labels" in result:
        table = result["probabilities"] if proba else None
        header, labels = result["class_names"], result["labels"]
    elif result["values"].shape[1] == 1:  # one target: one value per line, like labels
        table, header, labels = None, None, [f"{v:.6g}" for v in result["values"][:, 0]]
    else:
        table, header, labels = result["values"], result["target_names"], None
    if fmt == "npy":
        array = np.asarray(labels) if table is None else np.asarray(table)
        out.flush()
        write_bytes(out.buffer, _npy_bytes(array))  # not np.save(out.buffer): its errors lose the errno
    elif fmt == "json":
        _write_json_lines(out, labels, table, header)
    else:
        _write_csv(out, labels, table, header)
    out.flush()


def _npy_bytes(array) -> bytes:
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _write_csv(out, labels, table, header) -> None:
    """RFC 4180 quoting (a field holding a comma, a quote, CR or LF is quoted, its quotes doubled), so that
    N rows in are N records out; records end in a bare LF, as everything else this tool prints."""
    if table is None:
        out.write("".join(_field(label) + "\n" for label in labels))
        return
    out.write(",".join(map(_field, header)) + "\n")
    out.write("".join(",".join(f"{v:.6g}" for v in row) + "\n" for row in table))


def _field(text: str) -> str:
    """One CSV field: as is, or quoted (csv.writer with a LF terminator would leave a lone CR bare; an empty
    field alone on a line would read as a blank line, not as a record)."""
    text = str(text)
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if not text or any(c in text for c in ',"\r\n') else text


def _write_json_lines(out, labels, table, header) -> None:
    import json

    if table is None:
        out.write("".join(json.dumps({"prediction": label}) + "\n" for label in labels))
        return
    for i, row in enumerate(table):
        record = {"prediction": labels[i]} if labels else {}
        record.update({name: float(v) for name, v in zip(header, row)})
        out.write(json.dumps(record) + "\n")
