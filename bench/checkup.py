"""`backprop check` on every shipped config: `python -m bench.checkup [NAME ...]`; each config's failing checks
and its CPU seconds (the check-up of the recurrent and transformer configs is too slow for the test suite,
which checks the quick ones: tests/checkup/test_shipped_configs.py)."""

from __future__ import annotations

import os
import sys
import time

from bench.common import ROOT, THREAD_VARS, data_dir

BROKEN_ON_PURPOSE = {"zeros-init": {"overfit one batch", "zeroed inputs"}, "deep-sigmoid": {"overfit one batch"}}


def main(names: list[str]) -> None:
    os.environ.update({var: "1" for var in THREAD_VARS})  # `backprop check` caps BLAS at one thread too
    os.environ["BACKPROP_DATA_DIR"] = str(data_dir())
    from backprop_cli.checkup.run import run_checkup
    from backprop_cli.config.load import load_config

    print(f"load average {os.getloadavg()[0]:.1f}")
    wrong = 0
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        if names and path.stem not in names:
            continue
        start = time.process_time()
        findings = run_checkup(load_config(path).config)
        failed = {f.check for f in findings if f.verdict == "fail"}
        expected = BROKEN_ON_PURPOSE.get(path.stem, set())
        wrong += failed != expected
        verdict = "as expected" if failed == expected else "UNEXPECTED"
        shown = ", ".join(sorted(failed)) or "all pass"
        print(f"{path.stem:<28} {time.process_time() - start:7.1f} CPU s  {shown}  ({verdict})", flush=True)
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
