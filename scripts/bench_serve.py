"""Benchmark ``mlsse serve``: warm latency of ``POST /api/predict`` and a bounded local load run.

    python scripts/bench_serve.py [--requests 200] [--load 500] [--concurrency 8]

Starts ``mlsse serve`` on a free port of 127.0.0.1 (shipped model, a temporary MLSSE_HOME) and prints a table:
p50/p95 latency of one formula (the same one each time, and a new composition each time), of 100 formulas per
request, and a load run of ``--load`` requests ``--concurrency`` at a time, with its errors and the server's
resident memory before and after (read from /proc; Linux). Target (issue 26): p95 < 100 ms for one warm formula
on 2 cores, no error under load, flat memory.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per latency row")
    parser.add_argument("--load", type=int, default=500, help="requests in the load run")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight in the load run")
    args = parser.parse_args()
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as home:
        server = subprocess.Popen([sys.executable, "-m", "mlsse", "serve", "--port", str(port)],
                                  env={**os.environ, "MLSSE_HOME": home}, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            started = time.perf_counter()
            _wait_until_up(url, server)
            start_s = time.perf_counter() - started
            rows = [("start (model load), s", f"{start_s:.1f}", "", "")]
            n_batches = max(5, args.requests // 20)
            new = _new_compositions(args.requests + 100 * n_batches + 20)
            _post(url, ["Li6PS5Cl"])  # warm: first featurization and import costs
            same = [_post(url, ["Li6PS5Cl"]) for _ in range(args.requests)]
            rows.append(_latency_row("1 formula, same each request", same))
            fresh = [_post(url, [new.pop()]) for _ in range(args.requests)]
            rows.append(_latency_row("1 formula, new each request", fresh))
            batch = [_post(url, [new.pop() for _ in range(100)]) for _ in range(n_batches)]
            rows.append(_latency_row("100 formulas per request", batch))
            memory_before = _rss_mb(server.pid)
            load_started = time.perf_counter()
            formulas = ["Li6PS5Cl", "Li3YCl6", "Li2ZrCl6", "Li10GeP2S12"] + [new.pop() for _ in range(20)]
            with ThreadPoolExecutor(args.concurrency) as pool:
                results = list(pool.map(lambda i: _post(url, [formulas[i % len(formulas)]], check=False),
                                        range(args.load)))
            wall = time.perf_counter() - load_started
            errors = sum(1 for _, ok in results if not ok)
            memory_after = _rss_mb(server.pid)
            rows.append(_latency_row(f"load: {args.load} requests, {args.concurrency} at a time", results,
                                     extra=f"{args.load / wall:.0f} req/s, {errors} errors"))
            rows.append(("server RSS before → after load, MB", f"{memory_before} → {memory_after}", "", ""))
        finally:
            server.terminate()
            server.wait(timeout=30)
    _print_table(["case", "p50 ms", "p95 ms", "note"], rows)


def _wait_until_up(url: str, server: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("mlsse serve stopped before answering")
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    sys.exit("mlsse serve did not answer")


def _post(url: str, formulas: list[str], check: bool = True) -> tuple[float, bool]:
    request = urllib.request.Request(url + "/api/predict", method="POST", headers={"content-type":
                                                                                  "application/json"},
                                     data=json.dumps({"formulas": formulas}).encode())
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            ok = answer.status == 200 and len(json.load(answer)["rows"]) == len(formulas)
    except (urllib.error.URLError, OSError):
        ok = False
    if check and not ok:
        sys.exit(f"request failed: {formulas[:3]}")
    return (time.perf_counter() - started) * 1000.0, ok


def _new_compositions(n: int) -> list[str]:
    """Distinct doped halides and argyrodites, none asked before in this run."""
    out = []
    for i in range(n):
        x = round(0.9 * (i + 1) / (n + 1), 5)  # in (0, 0.9): every formula a real doping
        out.append(f"Li{3 - x:g}Y{1 - x:g}Zr{x:g}Cl6" if i % 2 else f"Li{6 - x:g}PS{5 - x:g}Cl{1 + x:g}")
    return out


def _latency_row(name: str, results: list[tuple[float, bool]], extra: str = "") -> tuple[str, str, str, str]:
    times = sorted(t for t, _ in results)
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return name, f"{statistics.median(times):.1f}", f"{p95:.1f}", extra or f"{len(times)} requests"


def _rss_mb(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return f"{int(line.split()[1]) / 1024:.0f}"
    except OSError:
        pass
    return "n/a"


def _print_table(header: list[str], rows: list[tuple]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))


if __name__ == "__main__":
    main()
