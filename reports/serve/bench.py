"""A bounded local load test of `custintel serve` (`custintel bench serve`): not a unit test.

The server runs as its own process (`custintel serve` on 127.0.0.1, a free port, a throw-away
HS256 secret); N concurrent clients (asyncio + httpx) post the governed queries of a dashboard
page (default: the Executive Overview) to `/cubejs-api/v1/load` in a loop for S seconds,
polling again on "Continue wait". Reported: start-up time, requests, throughput, p50/p95
latency of a finished load (polls included), errors, the server's RSS before and after; and
the baseline measured in the same run: the same queries on the embedded engine in this
process, one at a time (latency ratio = served p50 / engine p50).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import psutil

from custintel.core.settings import Settings
from reports.inputs import queries_without_inputs

AUDIENCE = "custintel-bench"
HOST = "127.0.0.1"


@dataclass
class LoadResult:
    renew: bool
    clients: int
    seconds: float
    startup_seconds: float
    requests: int
    errors: int
    continue_waits: int
    throughput_per_second: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    engine_p50_ms: float  # baseline: the same queries on the embedded engine, in process
    p50_ratio: float
    rss_before_mb: float
    rss_after_mb: float
    error_samples: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def dashboard_queries(page: Path) -> list[dict[str, Any]]:
    """The governed queries (```query``` blocks) of a report page, its inputs unset."""
    return list(queries_without_inputs(page.read_text()).values())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _rss_mb(process: psutil.Process) -> float:
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20


def start_server(
    config: Path, site: Path | None, port: int, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], float]:
    """`custintel serve` in a child process; returns it and the seconds until it answered."""
    command = [
        sys.executable,
        "-m",
        "custintel",
        "--config",
        str(config),
        "serve",
        "--port",
        str(port),
    ]
    if site is not None:
        command += ["--site", str(site)]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = started + 60
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise RuntimeError(f"custintel serve exited: {output[-2000:]}")
        try:
            if httpx.get(f"http://{HOST}:{port}/_app/login", timeout=1).status_code == 200:
                return process, time.perf_counter() - started
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("custintel serve did not answer within 60 s")


async def _client(
    url: str,
    token: str,
    queries: list[dict[str, Any]],
    stop: float,
    latencies: list[float],
    errors: list[str],
    waits: list[int],
    offset: int,
) -> None:
    headers = {"Authorization": token}
    async with httpx.AsyncClient(timeout=60) as http:
        n = offset
        while time.perf_counter() < stop:
            query = queries[n % len(queries)]
            n += 1
            began = time.perf_counter()
            try:
                while True:
                    response = await http.post(url, json={"query": query}, headers=headers)
                    body = response.json()
                    if response.status_code == 200 and body.get("error") == "Continue wait":
                        waits.append(1)
                        continue
                    break
            except (httpx.HTTPError, ValueError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            if response.status_code != 200 or "data" not in body:
                errors.append(f"HTTP {response.status_code}: {str(body)[:200]}")
                continue
            latencies.append(time.perf_counter() - began)


async def _load(
    url: str, token: str, queries: list[dict[str, Any]], clients: int, seconds: float
) -> tuple[list[float], list[str], int, float]:
    latencies: list[float] = []
    errors: list[str] = []
    waits: list[int] = []
    began = time.perf_counter()
    stop = began + seconds
    await asyncio.gather(
        *(_client(url, token, queries, stop, latencies, errors, waits, i) for i in range(clients))
    )
    return latencies, errors, len(waits), time.perf_counter() - began


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def engine_baseline(
    settings: Settings, queries: list[dict[str, Any]], claims: dict[str, Any], repeats: int = 5
) -> float:
    """Median seconds of one query on the embedded engine in this process (warm)."""
    from reports.serve.app import served_engine
    from semantic import SecurityContext

    context = SecurityContext(claims=claims)
    timings = []
    with served_engine(settings) as engine:
        for query in queries:
            engine.load(query, context=context)  # warm: compile cache, connection
        for _ in range(repeats):
            for query in queries:
                began = time.perf_counter()
                engine.load(query, context=context)
                timings.append(time.perf_counter() - began)
    return statistics.median(timings)


def run_load_test(
    settings: Settings,
    config: Path,
    *,
    clients: int = 50,
    seconds: float = 30.0,
    page: Path | None = None,
    site: Path | None = None,
    role: str = "executive",
    renew: bool = False,
) -> LoadResult:
    """Start the server, load it, stop it; every figure measured in this run. `renew` sends
    `renewQuery: true` (every request runs on the engine; default: Cube's result cache)."""
    queries = dashboard_queries(page or settings.pages_path / "executive-overview.md")
    if renew:
        queries = [{**query, "renewQuery": True} for query in queries]
    if not queries:
        raise ValueError(f"{page}: no governed queries to load the server with")
    secret = secrets.token_hex(32)
    claims = {"role": role}
    token = jwt.encode(
        {**claims, "aud": AUDIENCE, "exp": int(time.time()) + 3600}, secret, algorithm="HS256"
    )
    env = {
        **os.environ,
        "CUBEJS_API_SECRET": secret,
        "CUSTINTEL_SEMANTIC__TOKEN_AUDIENCE": AUDIENCE,
    }
    baseline = engine_baseline(settings, queries, claims)
    port = _free_port()
    process, startup = start_server(config, site, port, env)
    try:
        server = psutil.Process(process.pid)
        url = f"http://{HOST}:{port}/cubejs-api/v1/load"
        for query in queries:  # warm-up, as the baseline was
            httpx.post(
                url, json={"query": query}, headers={"Authorization": token}, timeout=60
            ).raise_for_status()
        rss_before = _rss_mb(server)
        latencies, errors, waits, elapsed = asyncio.run(
            _load(url, token, queries, clients, seconds)
        )
        rss_after = _rss_mb(server)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    p50 = _percentile(latencies, 0.5)
    return LoadResult(
        renew=renew,
        clients=clients,
        seconds=round(elapsed, 2),
        startup_seconds=round(startup, 2),
        requests=len(latencies),
        errors=len(errors),
        continue_waits=waits,
        throughput_per_second=round(len(latencies) / elapsed, 1),
        p50_ms=round(p50 * 1000, 1),
        p95_ms=round(_percentile(latencies, 0.95) * 1000, 1),
        max_ms=round(max(latencies, default=float("nan")) * 1000, 1),
        engine_p50_ms=round(baseline * 1000, 2),
        p50_ratio=round(p50 / baseline, 1),
        rss_before_mb=round(rss_before, 1),
        rss_after_mb=round(rss_after, 1),
        error_samples=sorted(set(errors))[:5],
    )


def write_result(result: LoadResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.as_dict(), indent=2) + "\n")
