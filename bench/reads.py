"""Reads under load: 50 concurrent readers polling the service while it runs a sweep, in one run.

A real ``paramz serve`` (Ray executor, ``--workers`` actors) on a fresh SQLite store runs a small
sweep twice, first with no readers, then (a second spec, same size) with ``--readers`` threads in
this process. Each reader is an open dashboard: every ``--interval`` seconds (3, the pages' refresh)
it asks for list, status, trials and transfer, revalidating what it has like a browser does
(``If-None-Match`` with the last ETag); ``--interval 0`` polls back to back instead, a stress test
that keeps both cores busy by itself. Printed: p50/p95/p99 latency per endpoint, requests served,
304s, and the sweep's wall time with readers over without.

    .venv/bin/python bench/reads.py [--readers 50] [--workers 2] [--interval 3]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench"


def _spec(seed: int) -> dict:
    return {"name": f"reads-{seed}", "model": {"family": "mlp"}, "task": {"name": "teacher"},
            "parameterizations": [{"name": "sp"}, {"name": "mup"}], "base_width": 64, "widths": [64, 128, 256],
            "lr": {"log2_min": -12, "log2_max": -8}, "steps": 1500, "batch_size": 32, "eval_every": 250,
            "seeds": [seed], "sharpness": {"probes": 2, "variants": ["raw"], "max_iter": 10}}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url: str, method: str = "GET", body: dict | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, json.loads(r.read() or b"null")


def run_sweep(base: str, seed: int, readers: int, interval: float) -> tuple[float, dict[str, list[float]], int]:
    """Launches one sweep and waits for it; ``readers`` threads poll meanwhile. Returns wall and latencies."""
    _, created = _call(f"{base}/api/v1/sweeps", "POST", _spec(seed))
    sweep_id = created["id"]
    start = time.perf_counter()
    done = threading.Event()
    latencies: dict[str, list[float]] = {"list": [], "status": [], "trials": [], "transfer": []}
    paths = {"list": "/api/v1/sweeps?limit=25", "status": f"/api/v1/sweeps/{sweep_id}",
             "trials": f"/api/v1/sweeps/{sweep_id}/trials", "transfer": f"/api/v1/sweeps/{sweep_id}/transfer"}

    not_modified = [0]

    def reader(i: int) -> None:
        etags: dict[str, str] = {}
        rng = np.random.default_rng(i)
        if interval:
            done.wait(rng.uniform(0, interval))           # dashboards opened at different moments
        while not done.is_set():
            started = time.perf_counter()
            for name, path in paths.items():
                req = urllib.request.Request(base + path, headers={"If-None-Match": etags[name]} if name in etags
                                             else {})
                t0 = time.perf_counter()
                try:
                    with urllib.request.urlopen(req, timeout=60) as r:
                        r.read()
                        if r.headers.get("ETag"):
                            etags[name] = r.headers["ETag"]
                except urllib.error.HTTPError as exc:
                    if exc.code != 304:
                        continue
                    not_modified[0] += 1
                except OSError:
                    continue
                latencies[name].append(time.perf_counter() - t0)
            if interval:
                done.wait(max(0.0, interval - (time.perf_counter() - started)))

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(readers)]
    for t in threads:
        t.start()
    while _call(f"{base}/api/v1/sweeps/{sweep_id}")[1]["status"] in ("pending", "running"):
        time.sleep(0.5)
    wall = time.perf_counter() - start
    done.set()
    for t in threads:
        t.join(60)
    return wall, latencies, not_modified[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between a reader's rounds (0: none)")
    args = parser.parse_args()
    console = Console(width=None if sys.stdout.isatty() else 120)
    with tempfile.TemporaryDirectory() as tmp:
        port = _port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "PARAMZ_TOKEN": TOKEN, "OMP_NUM_THREADS": "1"}
        server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--store",
                                   f"sqlite:///{tmp}/reads.db", "--workers", str(args.workers)], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if _call(f"{base}/healthz")[1]["status"] == "ok":
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the service did not start")
                time.sleep(0.5)
            quiet, _, _ = run_sweep(base, 0, 0, args.interval)
            loaded, latencies, not_modified = run_sweep(base, 1, args.readers, args.interval)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(60)
    how = f"every {args.interval:g} s" if args.interval else "back to back"
    table = Table(title=f"{args.readers} readers polling {how} during a {len(_spec(0)['widths']) * 2 * 5}-trial sweep")
    for col in ("endpoint", "requests", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(col, justify="right")
    for name, values in latencies.items():
        if values:
            p50, p95, p99 = np.percentile(np.array(values) * 1000, [50, 95, 99])
            table.add_row(name, str(len(values)), f"{p50:.0f}", f"{p95:.0f}", f"{p99:.0f}")
    console.print(table)
    served = sum(len(v) for v in latencies.values())
    console.print(f"{served} requests ({served / loaded:.0f}/s), {not_modified} answered 304 Not Modified")
    console.print(f"sweep wall: {quiet:.1f} s without readers, {loaded:.1f} s with: {loaded / quiet:.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
