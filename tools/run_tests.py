"""`make test`: the whole suite on every backend that can be reached.

SQLite always runs. PostgreSQL and MariaDB run when their servers answer; with CI=true
an unreachable server fails the run, otherwise it is skipped and said so.

The backends run side by side, each in its own pytest process with its own throwaway
database, so the run takes about as long as the slowest backend. Tests marked `serial`
(the few that measure how long something waits) run afterwards, one backend at a time,
on an otherwise quiet machine. Each backend's output goes to var/test-results/; it is
printed whole when that backend fails, else its summary.
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


def _run(
    backend: str, phase: str, marker: str, extra: list[str]
) -> tuple[subprocess.Popen[bytes], Path, Path]:
    reports = ROOT / "var" / "test-results"
    report = reports / f"{backend}-{phase}.xml"
    log = reports / f"{backend}-{phase}.log"
    report.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", f"--junit-xml={report}", "-m", marker, *extra]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "GOALPATH_TEST_BACKEND": backend},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return process, report, log


def _show(backend: str, phase: str, log: Path, failed: bool) -> None:
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    print(f"\n=== {LABELS[backend]}, {phase} ===", flush=True)
    shown = lines if failed else [line for line in lines[-15:] if line.strip()][-3:]
    print("\n".join(shown), flush=True)


def main() -> int:
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    wanted = [
        b for b in os.environ.get("GOALPATH_TEST_BACKENDS", ",".join(BACKENDS)).split(",") if b
    ]
    results: dict[str, dict[str, int] | str] = {}
    exit_code = 0
    (ROOT / "var" / "test-results").mkdir(parents=True, exist_ok=True)
    runnable: list[str] = []
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
        print(f"--- {LABELS[backend]}: {version.splitlines()[0][:80]}", flush=True)
        runnable.append(backend)

    extra = sys.argv[1:]
    totals: dict[str, dict[str, int]] = {
        b: {"passed": 0, "failed": 0, "skipped": 0} for b in runnable
    }
    broken: set[str] = set()

    def settle(
        backend: str, phase: str, process: subprocess.Popen[bytes], report: Path, log: Path
    ) -> None:
        returncode = process.wait()
        # Exit code 5: nothing selected (no serial test on that run), not a failure.
        failed = returncode not in (0, 5) or (returncode == 0 and not report.exists())
        _show(backend, phase, log, failed)
        if failed:
            broken.add(backend)
        if report.exists():
            for key, value in _counts(report).items():
                totals[backend][key] += value

    print(f"\nRunning {', '.join(LABELS[b] for b in runnable)} side by side ...", flush=True)
    started = [(backend, *_run(backend, "parallel", "not serial", extra)) for backend in runnable]
    for backend, process, report, log in started:
        settle(backend, "side by side", process, report, log)
    for backend in runnable:
        process, report, log = _run(backend, "serial", "serial", extra)
        settle(backend, "timing-sensitive tests, alone", process, report, log)

    for backend in runnable:
        counts = totals[backend]
        if backend in broken or counts["passed"] == 0:
            exit_code = 1
        results[backend] = counts

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
