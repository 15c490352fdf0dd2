"""Small truths of a newcomer's first hour: each message offers the way the user most likely meant."""

from __future__ import annotations

from tests.reliability.helpers import in_process


def test_integer_targets_taken_for_classes_offer_regression_too(tmp_path):
    rows = "\n".join(f"{i * 0.1:.1f},{i % 7 + (i // 7) * 2}" for i in range(60))  # counts: 2..(integers)
    (tmp_path / "counts.csv").write_text("x,count\n" + rows + "\n")
    (tmp_path / "counts.yaml").write_text(
        "data: {path: counts.csv, target: count, validation_split: 0}\n"
        "model: {layers: [{type: dense, units: 4, activation: relu}, {type: dense, units: 1}]}\n"
        "loss: mse\noptimizer: {type: adam, lr: 0.01}\ntraining: {epochs: 1}\n"
    )
    refused = in_process("train", "counts.yaml", "--runs-dir", "runs", cwd=tmp_path)
    assert refused.returncode == 2 and "set data.task: regression" in refused.stderr, refused.stderr
    trained = in_process("train", "counts.yaml", "--set", "data.task=regression", "--quiet", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
