"""A raw CSV with text columns and blank cells, from training to predictions: train, predict, eval, ONNX, resume."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import yaml

from backprop_cli.inference import load_trained
from tests.reliability.helpers import (
    assert_same_run,
    in_process,
    kill_at,
    only_run,
    resume_here,
    train,
)


def test_a_raw_csv_trains_with_its_columns_inferred_said_once_and_written_into_the_run(loans_dir):
    result = in_process("train", "loans.yaml", "--runs-dir", "said", "--threads", "1", cwd=loans_dir)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("columns: 3 number, 2 category, 0 ignored") == 1
    written = yaml.safe_load((only_run(loans_dir / "said") / "config.yaml").read_text())["data"]["columns"]
    assert written == {
        "age": {"type": "number", "missing": "median"},
        "income": {"type": "number", "missing": "median"},
        "city": {"type": "category", "missing": "missing_level"},
        "job": {"type": "category", "missing": "missing_level"},
        "debt_ratio": {"type": "number", "missing": "median"},
    }
    validate = in_process("config", "validate", "loans.yaml", cwd=loans_dir)
    assert "loans.yaml: columns: 3 number, 2 category, 0 ignored" in validate.stderr, validate.stderr


def test_predict_on_raw_rows_with_an_unseen_level_and_blanks_agrees_with_eval(loans_run, loans_dir):
    rows = loans_dir / "rows.csv"
    predicted = in_process("predict", loans_run, rows)
    scored = in_process("eval", loans_run, "--data", f"path={rows}", "--json")
    assert predicted.returncode == 0 and scored.returncode == 0, predicted.stderr + scored.stderr
    assert "levels unseen in training, encoded as all-zero (`city` 3 rows)" in predicted.stderr
    report = json.loads(scored.stdout)
    assert report["n"] == 60 and any("`city` 3 rows" in w for w in report["warnings"])
    truth = [row["status"] for row in csv.DictReader(io.StringIO(rows.read_text()))]
    labels = predicted.stdout.split()
    names = report["class_names"]
    confusion = np.zeros((len(names), len(names)), dtype=int)
    np.add.at(confusion, ([names.index(t) for t in truth], [names.index(p) for p in labels]), 1)
    assert confusion.tolist() == report["confusion_matrix"]
    assert np.mean(np.array(labels) == np.array(truth)) == pytest.approx(report["accuracy"], abs=0)


def test_onnx_on_raw_rows_equals_predict(loans_run, loans_dir):
    ort = pytest.importorskip("onnxruntime")
    exported = in_process("export", loans_run, "--proba", "-o", loans_dir / "loans.onnx")
    assert exported.returncode == 0, exported.stderr
    expected = in_process("predict", loans_run, loans_dir / "rows.csv", "--proba", "--format", "json")
    assert expected.returncode == 0, expected.stderr
    session = ort.InferenceSession(str(loans_dir / "loans.onnx"), providers=["CPUExecutionProvider"])
    table = list(csv.DictReader(io.StringIO((loans_dir / "rows.csv").read_text())))
    feeds = {}
    for node in session.get_inputs():  # one input per column: numbers as float32 (NaN: missing), text as text
        cells = [row[node.name] for row in table]
        if node.type == "tensor(string)":
            feeds[node.name] = np.array(cells, dtype=object).reshape(-1, 1)
        else:
            feeds[node.name] = np.array([float(c) if c not in ("", "NA") else np.nan for c in cells], np.float32)[
                :, None
            ]
    assert sorted(feeds) == ["age", "city", "debt_ratio", "income", "job"]
    (onnx_p,) = session.run(None, feeds)
    records = [json.loads(line) for line in expected.stdout.splitlines()]  # floats in full: repr round-trips
    predict_p = np.array([[r[name] for name in ("default", "late", "paid")] for r in records])
    np.testing.assert_allclose(onnx_p, predict_p, rtol=1e-5, atol=1e-6)


def test_a_table_run_killed_while_saving_resumes_bit_identical(loans_run, loans_dir):
    killed_dir = loans_dir / "killed"
    died = train(loans_dir / "loans.yaml", killed_dir, env=kill_at("half_written", "last.safetensors", skip=2))
    assert died.returncode == -9, died.stderr
    run = only_run(killed_dir)
    result = resume_here(run)
    assert result.returncode == 0, result.stderr
    assert_same_run(loans_run, run)


def test_npz_export_writes_the_recipe_as_named_arrays_and_a_json_of_levels(loans_run, loans_dir):
    exported = in_process("export", loans_run, "--format", "npz", "-o", loans_dir / "loans.npz")
    assert exported.returncode == 0, exported.stderr
    npz = np.load(loans_dir / "loans.npz", allow_pickle=False)
    recipe = json.loads(str(npz["columns.json"]))
    by_name = {c["spec"]["name"]: c for c in recipe["columns"]}
    cities = sorted({row["city"] for row in csv.DictReader(io.StringIO((loans_dir / "loans.csv").read_text()))})
    assert npz["columns.city.levels"].tolist() == by_name["city"]["levels"] == cities  # no blank city in training
    assert by_name["job"]["levels"][-1] is None and npz["columns.job.levels"][-1] == ""  # job has blanks
    saved = load_trained(loans_run).data_meta  # the checkpoint's own recipe: the export says the same
    assert recipe == {**saved["columns"], "na_values": saved["na_values"]}
    assert float(npz["columns.income.fill"]) == by_name["income"]["fill"] and by_name["income"]["fill"] > 10_000
