"""A real table with text columns, backprop from the raw CSV against scikit-learn's Pipeline on the same split.

    python -m bench.tabular [--epochs 30] [--repeats 3] [--threads 1]

Workload: IBM's attrition table ($BACKPROP_DATA_DIR/tables/attrition.csv: 1470 rows, 30 features of which
15 are text, target `Attrition`, 16% Yes), split once into 80% training and 20% test rows (stratified, seed 0),
written as two CSVs. Both sides get the same network (32 relu units, softmax output), Adam lr 1e-3, batch 64,
the same epochs, no validation split, no early stopping:
- backprop: `backprop train` on the raw CSV with no `columns:` key (text columns inferred as categories,
  one-hot; numbers median-imputed and standardized), then `backprop eval --json` on the test CSV;
- scikit-learn: Pipeline(ColumnTransformer(numbers: SimpleImputer(median) + StandardScaler, text:
  SimpleImputer(most_frequent) + OneHotEncoder(handle_unknown="ignore")), MLPClassifier(...)) fit on the
  training CSV (read by pandas, whose dtypes decide number vs text), scored on the test CSV.
Epoch time: backprop's the median of epochs 2..E from metrics.jsonl; scikit-learn has no per-epoch hook, so
its fit time (the Pipeline's preprocessing included) / epochs. Accuracy and ROC AUC on the test rows. Each
measurement is a fresh process; repeats are interleaved; peak RSS from wait4.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, cpu_name, data_dir, interleaved, worker_result, write_json

KINDS = ("backprop", "sklearn")
TARGET, HIDDEN, LR, BATCH = "Attrition", 32, 1e-3, 64


def split_table(scratch: Path) -> tuple[Path, Path]:
    """train.csv and test.csv in `scratch`: 80/20, stratified by the target, from seed 0 (the csv module)."""
    import csv
    import random

    with open(data_dir() / "tables" / "attrition.csv", newline="") as fp:
        reader = csv.reader(fp)
        header, rows = next(reader), list(reader)
    k = header.index(TARGET)
    rng, train, test = random.Random(0), [], []
    for label in sorted({r[k] for r in rows}):
        group = [r for r in rows if r[k] == label]
        rng.shuffle(group)
        cut = round(0.2 * len(group))
        test += group[:cut]
        train += group[cut:]
    paths = scratch / "train.csv", scratch / "test.csv"
    for path, part in zip(paths, (train, test)):
        with open(path, "w", newline="") as fp:
            csv.writer(fp).writerows([header, *part])
    return paths


def config_yaml(epochs: int, threads: int) -> str:
    return (
        f"name: bench-tabular\nseed: 0\ndata: {{path: train.csv, target: {TARGET}, validation_split: 0}}\n"
        f"model:\n  layers:\n    - {{type: dense, units: {HIDDEN}, activation: relu}}\n"
        "    - {type: dense, units: 2}\n"
        f"optimizer: {{type: adam, lr: {LR}}}\n"
        f"training: {{epochs: {epochs}, batch_size: {BATCH}, threads: {threads}}}\n"
        "diagnostics: {monitor: false}\n"
    )


def run_backprop(scratch: Path, epochs: int, threads: int) -> dict:
    """The CLI, as a user runs it: train on the raw CSV, eval on the test CSV."""
    (scratch / "tabular.yaml").write_text(config_yaml(epochs, threads))
    cli = [sys.executable, "-m", "backprop_cli"]
    run = subprocess.run([*cli, "train", "tabular.yaml", "--quiet", "--runs-dir", "runs", "--threads", str(threads)],
                         cwd=scratch, check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
    report = json.loads(subprocess.run([*cli, "eval", run, "--data", "path=test.csv", "--json"], cwd=scratch,
                                       check=True, capture_output=True, text=True).stdout)  # fmt: skip
    times = [json.loads(line)["epoch_time_s"] for line in (Path(scratch) / run / "metrics.jsonl").open()]
    return {"epoch_times": times, "accuracy": report["accuracy"], "roc_auc": report["roc_auc"]}


def run_sklearn(scratch: Path, epochs: int, threads: int) -> dict:
    import warnings

    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from threadpoolctl import threadpool_limits

    train, test = pd.read_csv(scratch / "train.csv"), pd.read_csv(scratch / "test.csv")
    x, y = train.drop(columns=[TARGET]), train[TARGET]
    numbers = [c for c in x.columns if pd.api.types.is_numeric_dtype(x[c])]
    texts = [c for c in x.columns if c not in numbers]
    prepare = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
        ("texts", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
         texts),
    ])  # fmt: skip
    mlp = MLPClassifier(hidden_layer_sizes=(HIDDEN,), learning_rate_init=LR, batch_size=BATCH, max_iter=epochs,
                        n_iter_no_change=epochs + 1, tol=0.0, random_state=0)  # fmt: skip
    model = Pipeline([("prepare", prepare), ("mlp", mlp)])
    with threadpool_limits(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the epoch count on purpose
        started = time.perf_counter()
        model.fit(x, y)
        fit_s = time.perf_counter() - started
    x_test, y_test = test.drop(columns=[TARGET]), test[TARGET]
    proba = model.predict_proba(x_test)[:, list(model.classes_).index("Yes")]
    return {
        "epoch_times": [fit_s / epochs] * epochs,
        "accuracy": accuracy_score(y_test, model.predict(x_test)),
        "roc_auc": roc_auc_score(y_test == "Yes", proba),
    }


def measure(kind: str, epochs: int, threads: int) -> dict:
    """One fresh process (peak RSS: the worker's; `backprop train` runs as its child)."""
    return worker_result("bench.tabular", kind, ["--epochs", str(epochs), "--threads", str(threads)], threads)


def table(runs: dict[str, list[dict]]) -> str:
    rows = ["| implementation | epoch s, median [min–max] | test accuracy | test ROC AUC |", "|---|---|---|---|"]
    for kind, results in runs.items():
        epochs = [r["epoch_s"] for r in results]
        rows.append(
            f"| {kind} | {statistics.median(epochs):.4f} [{min(epochs):.4f}–{max(epochs):.4f}] | "
            f"{statistics.median(r['accuracy'] for r in results):.4f} | "
            f"{statistics.median(r['roc_auc'] for r in results):.4f} |"
        )
    return "\n".join(rows)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tabular", description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, out = args.worker
        with tempfile.TemporaryDirectory() as tmp:
            split_table(Path(tmp))
            run = run_backprop if kind == "backprop" else run_sklearn
            write_json(out, run(Path(tmp), args.epochs, args.threads))
        return
    runs = interleaved(KINDS, args.repeats, lambda kind: measure(kind, args.epochs, args.threads))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    load = os.getloadavg()[0]
    text = (
        f"# Tabular workload (attrition.csv), {stamp}\n\n{cpu_name()}; {args.threads} thread(s) each; "
        f"{args.epochs} epochs, {args.repeats} repeats; load average {load:.1f} at the end\n\n{table(runs)}\n"
    )
    print(text)
    results = ROOT / "bench" / "results"
    (results / f"{stamp}-tabular.md").write_text(text)
    write_json(results / f"{stamp}-tabular.json", runs)


if __name__ == "__main__":
    main(sys.argv[1:])
