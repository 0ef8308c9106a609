"""`make bench`: Goalpath's daily requests against a large district, beside their floor.

For each scenario it measures, with wrk on one core against one server worker pinned
to the other, p50/p95/p99 latency and requests per second at concurrency 1 and 8; the
SQL statements one request issues; the server's RSS; and the physical floor: the same
SELECT statements (access filter included) run through the same driver in a tight loop,
plus serialising a JSON answer of the same rows. Results go to bench/results/ as JSON and
Markdown. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "wrk" / "report.lua"
BIN = Path(sys.executable).parent


@dataclass
class Scenario:
    name: str
    method: str
    path: str
    token: str | None
    body: dict[str, Any] | None = None
    read: bool = True
    measures: dict[str, Any] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def call(base: str, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback only)
        raw = response.read()
    return json.loads(raw) if raw else None


def bench_env(database_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "GOALPATH_LOG_LEVEL": "warning",
        # The benchmark signs in far more often than any person could.
        "GOALPATH_RATE_LIMIT_LOGIN_IP": "100000000/minute",
        "GOALPATH_RATE_LIMIT_LOGIN_ACCOUNT": "100000000/minute",
    }
    env.setdefault("GOALPATH_HEALTH_NOTE_KEYS", "")
    if not env["GOALPATH_HEALTH_NOTE_KEYS"]:
        env.pop("GOALPATH_HEALTH_NOTE_KEYS")
    return env


def prepare(database_url: str, scale: float, env: dict[str, str]) -> dict[str, Any]:
    """Migrate and generate the large district unless the database already holds it."""
    goalpath = str(BIN / "goalpath")
    subprocess.run([goalpath, "db", "upgrade"], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    generated = subprocess.run(
        [goalpath, "demo", "--size", "large", "--scale", str(scale)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if generated.returncode == 0:
        print(generated.stdout.strip(), f"({seconds:.0f} s)", flush=True)
        return {"generated_in_s": round(seconds, 1), "summary": generated.stdout.strip()}
    if "needs an empty database" in generated.stderr:
        print("reusing the large district already in the database", flush=True)
        return {"generated_in_s": None, "summary": "reused"}
    raise SystemExit(generated.stderr)


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    command = [str(BIN / "goalpath"), "serve", "--port", str(port), "--workers", "1"]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    server = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            call(base, "GET", "/readyz")
            return server
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not start")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def run_wrk(base: str, scenario: Scenario, connections: int, seconds: float) -> dict[str, Any]:
    env = {
        **os.environ,
        "BENCH_METHOD": scenario.method,
        "BENCH_TOKEN": scenario.token or "",
        "BENCH_BODY": json.dumps(scenario.body) if scenario.body is not None else "",
    }
    command = [
        "wrk",
        f"-t{min(connections, 2)}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        base + scenario.path,
    ]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "1", *command]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    line = [row for row in completed.stdout.splitlines() if row.startswith("{")][-1]
    raw = json.loads(line)
    return {
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p95_ms": round(raw["p95_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "requests": raw["requests"],
        "errors": raw["socket_errors"] + raw["non_2xx"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--label", default=None)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (Debian: apt-get install wrk)")
    database_url = args.database_url or f"sqlite:///{ROOT / 'var' / f'bench-{args.scale:g}.db'}"
    env = bench_env(database_url)
    dataset = prepare(database_url, args.scale, env)

    sys.path.insert(0, str(ROOT / "src"))
    from bench.floor import measure_floor, record_request
    from bench.scenarios import build_scenarios

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(env, port)
    try:
        scenarios, extra = build_scenarios(base, call, database_url, env)
        for scenario in scenarios:
            print(f"--- {scenario.name}", flush=True)
            scenario.measures["statements"], captured = record_request(env, scenario)
            for connections in (1, 8):
                scenario.measures[f"c{connections}"] = run_wrk(
                    base, scenario, connections, args.seconds
                )
            scenario.measures["rss_mb"] = rss_mb(server.pid)
            if scenario.read:
                floor = measure_floor(database_url, captured)
                scenario.measures["floor_ms"] = floor
                app_ms = (
                    1000 / scenario.measures["c8"]["rps"]
                    if scenario.measures["c8"]["rps"]
                    else None
                )
                scenario.measures["app_ms_per_request_c8"] = round(app_ms, 3) if app_ms else None
                scenario.measures["ratio_c8"] = (
                    round(app_ms / floor, 2) if app_ms and floor else None
                )
            print(json.dumps(scenario.measures), flush=True)
        extras = extra(base, server.pid, args.seconds, run_wrk)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    write_results(args, database_url, dataset, scenarios, extras)
    return 0


def machine() -> dict[str, Any]:
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    from importlib.metadata import version

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {
            name: version(name)
            for name in (
                "fastapi",
                "starlette",
                "sqlalchemy",
                "uvicorn",
                "pydantic",
                "psycopg",
                "pymysql",
            )
        },
    }


def write_results(
    args: argparse.Namespace,
    database_url: str,
    dataset: dict[str, Any],
    scenarios: list[Scenario],
    extras: dict[str, Any],
) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    backend = database_url.split(":", 1)[0].split("+", 1)[0]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    label = args.label or f"{backend}-scale{args.scale:g}"
    document = {
        "when": stamp,
        "backend": backend,
        "scale": args.scale,
        "seconds_per_run": args.seconds,
        "dataset": dataset,
        "machine": machine(),
        "scenarios": {scenario.name: scenario.measures for scenario in scenarios},
        "extras": extras,
    }
    (RESULTS / f"{label}.json").write_text(json.dumps(document, indent=2) + "\n")
    lines = [
        f"# Benchmark: {backend}, scale {args.scale:g} ({stamp})",
        "",
        f"Machine: {document['machine']['cpu']} ({document['machine']['cores']} cores), Python {document['machine']['python']}. Dataset: {dataset['summary']}",
        "",
        "| scenario | c1 p50 / p95 / p99 ms | c1 rps | c8 p50 / p95 / p99 ms | c8 rps | statements | floor ms | app ms/req (c8) | ratio | RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario in scenarios:
        m = scenario.measures
        c1, c8 = m["c1"], m["c8"]
        lines.append(
            f"| {scenario.name} | {c1['p50_ms']} / {c1['p95_ms']} / {c1['p99_ms']} | {c1['rps']} | "
            f"{c8['p50_ms']} / {c8['p95_ms']} / {c8['p99_ms']} | {c8['rps']} | {m['statements']} | "
            f"{m.get('floor_ms', '-')} | {m.get('app_ms_per_request_c8', '-')} | {m.get('ratio_c8', '-')} | {m['rss_mb']} |"
        )
    lines.append("")
    for key, value in extras.items():
        lines.append(f"- {key}: {value}")
    (RESULTS / f"{label}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
