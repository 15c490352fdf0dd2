"""The check-up: every check in the recipe's order, on the config's own data, loaded once."""

from __future__ import annotations

import numpy as np

from backprop_cli.checkup import data_checks, model_checks
from backprop_cli.checkup.finding import FAIL, Finding, verdict

GRADCHECK_ROWS = 4
OVERFIT_STEPS = 200


def run_checkup(config, steps: int = OVERFIT_STEPS, progress=None) -> list[Finding]:
    """Findings of every check; `progress(name)` is told before each one starts."""
    from backprop_cli.train.setup import build_parts

    data = build_parts(config).data
    checks = [
        ("initial loss", lambda: model_checks.initial_loss(config, data)),
        ("overfit one batch", lambda: model_checks.overfit_one_batch(config, data, steps)),
        ("zeroed inputs", lambda: model_checks.zeroed_inputs(config, data)),
        ("shuffled labels", lambda: model_checks.shuffled_labels(config, data)),
        ("class balance", lambda: data_checks.class_balance(data)),
        ("split duplicates", lambda: data_checks.split_duplicates(data)),
        ("constant features", lambda: data_checks.constant_features(data)),
        ("target leakage", lambda: data_checks.target_leakage(data)),
        ("gradcheck", lambda: gradient_check(config)),
    ]
    findings = []
    for name, check in checks:
        if progress is not None:
            progress(name)
        findings.append(check())
    return findings


def gradient_check(config) -> Finding:
    from backprop_cli.diagnostics.gradcheck import failure_hint, run_gradcheck

    report = run_gradcheck(config, rows=GRADCHECK_ROWS)
    judged = [e.max_rel_error for e in report.entries if e.verdict != "noise" and np.isfinite(e.max_rel_error)]
    noise = len(report.entries) - len(judged)
    measured = f"{len(report.entries)} tensors, worst relative error {max(judged, default=0.0):.1e}"
    if noise:
        measured += f" ({noise} below the rounding floor)"
    fix = "" if report.passed else failure_hint(report)
    return Finding(
        "gradcheck",
        measured,
        f"every tensor < {report.tolerance:g} (float64, {report.rows_in_batch} rows)",
        verdict(report.passed),
        fix,
    )


def failed(findings: list[Finding]) -> bool:
    return any(f.verdict == FAIL for f in findings)
