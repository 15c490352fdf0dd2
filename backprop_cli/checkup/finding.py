"""One line of a check-up: what was checked, what was measured, what was expected, the verdict, the fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass
class Finding:
    check: str
    measured: str
    expected: str
    verdict: str  # pass | fail | skip (does not apply to this config, with the reason as `measured`)
    fix: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def verdict(ok: bool) -> str:
    return PASS if ok else FAIL


def skipped(check: str, why: str) -> Finding:
    return Finding(check, why, "-", SKIP)
