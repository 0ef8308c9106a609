"""`make test`: the whole suite on every backend that can be reached.

SQLite always runs. PostgreSQL and MariaDB run when their servers answer; with CI=true
an unreachable server fails the run, otherwise it is skipped and said so.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.backends import BACKENDS, reachable  # noqa: E402

LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MariaDB/MySQL"}


def _counts(report: Path) -> dict[str, int]:
    suite = ElementTree.parse(report).getroot()
    if suite.tag == "testsuites":
        suite = suite[0]
    total = int(suite.get("tests", 0))
    failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    skipped = int(suite.get("skipped", 0))
    return {"passed": total - failed - skipped, "failed": failed, "skipped": skipped}


def main() -> int:
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    wanted = [
        b for b in os.environ.get("GOALPATH_TEST_BACKENDS", ",".join(BACKENDS)).split(",") if b
    ]
    results: dict[str, dict[str, int] | str] = {}
    exit_code = 0
    reports = ROOT / "var" / "test-results"
    reports.mkdir(parents=True, exist_ok=True)
    for backend in wanted:
        ok, version = reachable(backend)
        if not ok:
            if in_ci:
                print(f"\n!!! {LABELS[backend]} is unreachable and CI=true: {version}", flush=True)
                results[backend] = "UNREACHABLE"
                exit_code = 1
            else:
                print(
                    f"\n--- {LABELS[backend]} not reachable here; skipped ({version})", flush=True
                )
                results[backend] = "skipped (server not reachable)"
            continue
        print(f"\n=== {LABELS[backend]} ({version.splitlines()[0][:80]}) ===", flush=True)
        report = reports / f"{backend}.xml"
        report.unlink(missing_ok=True)
        command = [sys.executable, "-m", "pytest", f"--junit-xml={report}", *sys.argv[1:]]
        completed = subprocess.run(
            command, cwd=ROOT, env={**os.environ, "GOALPATH_TEST_BACKEND": backend}, check=False
        )
        if completed.returncode != 0 or not report.exists():
            exit_code = 1
        if report.exists():
            counts = _counts(report)
            if counts["passed"] == 0:
                exit_code = 1
            results[backend] = counts
        else:
            results[backend] = f"pytest exited {completed.returncode} without a report"

    print("\nTests per backend:")
    passed = failed = skipped = 0
    for backend, outcome in results.items():
        if isinstance(outcome, dict):
            passed += outcome["passed"]
            failed += outcome["failed"]
            skipped += outcome["skipped"]
            line = "{passed} passed, {failed} failed, {skipped} skipped".format(**outcome)
        else:
            line = outcome
        print(f"  {LABELS[backend]:<15} {line}")
    print(f"total: {passed} passed, {failed} failed, {skipped} skipped")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
