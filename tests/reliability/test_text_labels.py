"""Labels are text: a label column keeps its spelling (`1.0` stays `1.0`, `02134` and `2134` are
two classes), and predict's CSV output is quoted per RFC 4180, so that a label holding a comma, a quote
or a newline keeps N rows in -> N records out, the --proba header too. Then properties: any column of
label spellings encodes to exactly its distinct spellings, and any labels survive the CSV writer.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from backprop_cli.cli.predict import _write_csv
from backprop_cli.config.schema import DataConfig
from backprop_cli.data.files import load_user_files
from backprop_cli.errors import DataError
from backprop_cli.inference import load_trained

from .helpers import backprop, in_process, only_run

NUMERIC_SPELLINGS = ["1.0", "2.0", "02134", "2134"]  # four classes: numbers only by value would make three
AWKWARD = ["a,b", 'say "hi"', "line\nbreak"]  # a comma, a quote and a newline inside a label


def write_run(base, name: str, labels: list[str]):
    rows = [f"{i % 7 * 0.5},{i % 3 - 1}," + _quoted(labels[i % len(labels)]) for i in range(24)]
    (base / f"{name}.csv").write_text("f1,f2,label\n" + "\n".join(rows) + "\n")
    (base / f"{name}.yaml").write_text(
        f"name: {name}\nseed: 0\ndata: {{path: {name}.csv, target: label, validation_split: 0}}\n"
        f"model: {{layers: [{{type: dense, units: {len(labels)}}}]}}\n"
        "optimizer: {type: sgd, lr: 0.1}\ntraining: {epochs: 1, batch_size: 8}\n"
    )
    runs = base / f"runs-{name}"
    result = in_process("train", base / f"{name}.yaml", "--runs-dir", runs, "--quiet", "--threads", "1")
    assert result.returncode == 0, result.stderr
    return only_run(runs)


def data_cfg(**fields) -> DataConfig:
    return DataConfig(**{k: str(v) if isinstance(v, Path) else v for k, v in fields.items()})


def _quoted(text: str) -> str:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="").writerow([text])
    return out.getvalue()


def test_numeric_labels_keep_their_spelling_and_distinct_spellings_are_distinct_classes(tmp_path):
    run = write_run(tmp_path, "numeric", NUMERIC_SPELLINGS)
    trained = load_trained(run)
    assert trained.data_meta["class_names"] == ["1.0", "2.0", "02134", "2134"]  # by value, then spelling
    result = backprop("predict", run, "-", input="0,0\n3,1\n")
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.splitlines()) <= set(NUMERIC_SPELLINGS)  # never "1" or "2"


def test_predict_quotes_labels_with_commas_quotes_and_newlines_three_rows_in_three_records_out(tmp_path):
    run, rows = write_run(tmp_path, "awkward", AWKWARD), "0,0\n1,1\n3,-1\n"
    labels, proba = (backprop("predict", run, "-", *extra, input=rows) for extra in ((), ("--proba",)))
    assert labels.returncode == 0 and proba.returncode == 0, labels.stderr + proba.stderr
    records = list(csv.reader(io.StringIO(labels.stdout)))
    assert len(records) == 3 and all(len(r) == 1 and r[0] in AWKWARD for r in records)
    header, *values = list(csv.reader(io.StringIO(proba.stdout)))
    assert header == sorted(AWKWARD) and len(values) == 3 and all(len(v) == 3 for v in values)


# ---- properties -----------------------------------------------------------------------------------
SPELLINGS = st.sampled_from(["1", "1.0", "01", "2", "2.0", "02134", "2134", "-0", "0", "a", "a,b", "x\ny", 'q"', "1e3"])
LABEL = SPELLINGS | st.text(min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(labels=st.lists(LABEL, min_size=1, max_size=30), task=st.sampled_from(["auto", "classification"]))
@example(labels=["1", "1.0", "\r"], task="auto")  # a blank target among two spellings: that row left out
@example(labels=["1", "NA"], task="auto")  # "NA" is a missing feature value, but a target spelled NA is a class
def test_any_label_column_of_a_csv_encodes_to_its_distinct_spellings(labels, task):
    labels = [label.strip() for label in labels]  # cells are read stripped of surrounding blanks
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        path.write_text("x,label\n" + "".join(f"{i},{_quoted(label)}\n" for i, label in enumerate(labels)))
        try:
            raw = load_user_files(data_cfg(path=path, target="label", task=task))
        except DataError:
            return  # one class, an empty or non-finite label, a fraction as a class: each its own message
    if raw.task == "regression":
        assert task == "auto"  # only numbers decide on regression, and only when not asked for classes
        return
    kept = [label for label in labels if label != ""]  # a row with a blank target is left out of training
    assert [raw.class_names[i] for i in raw.y_train] == kept  # every other label as written
    assert len(raw.class_names) == len(set(kept))  # two spellings, two classes


@settings(max_examples=200, deadline=None)
@given(
    labels=st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=8),
    header=st.lists(st.text(max_size=6), min_size=1, max_size=4),
)
def test_any_labels_and_header_survive_the_csv_writer_record_for_record(labels, header):
    out = io.StringIO()
    _write_csv(out, labels, None, None)
    assert list(csv.reader(io.StringIO(out.getvalue(), newline=""))) == [[label] for label in labels]
    out = io.StringIO()
    _write_csv(out, None, np.zeros((2, len(header))), header)
    assert list(csv.reader(io.StringIO(out.getvalue(), newline="")))[0] == header
