"""Reads under load: 50 concurrent readers polling the service while it runs a sweep, in one run.

A real ``paramz serve`` (Ray executor, ``--workers`` actors) on a fresh SQLite store runs a small
sweep twice, first with no readers, then (a second spec, same size) with ``--readers`` threads in
this process each polling list, status, trials and transfer back to back. Printed: p50/p95/p99
latency per endpoint, requests served, and the sweep's wall time with readers over without.

    .venv/bin/python bench/reads.py [--readers 50] [--workers 2]
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
            "lr": {"log2_min": -12, "log2_max": -8}, "steps": 200, "batch_size": 32, "eval_every": 50,
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


def run_sweep(base: str, seed: int, readers: int) -> tuple[float, dict[str, list[float]]]:
    """Launches one sweep and waits for it; ``readers`` threads poll meanwhile. Returns wall and latencies."""
    _, created = _call(f"{base}/api/v1/sweeps", "POST", _spec(seed))
    sweep_id = created["id"]
    start = time.perf_counter()
    done = threading.Event()
    latencies: dict[str, list[float]] = {"list": [], "status": [], "trials": [], "transfer": []}
    paths = {"list": "/api/v1/sweeps?limit=25", "status": f"/api/v1/sweeps/{sweep_id}",
             "trials": f"/api/v1/sweeps/{sweep_id}/trials", "transfer": f"/api/v1/sweeps/{sweep_id}/transfer"}

    def reader(i: int) -> None:
        names = list(paths)
        k = i
        while not done.is_set():
            name = names[k % len(names)]
            k += 1
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(base + paths[name], timeout=60) as r:
                    r.read()
            except OSError:
                continue
            latencies[name].append(time.perf_counter() - t0)

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(readers)]
    for t in threads:
        t.start()
    while _call(f"{base}/api/v1/sweeps/{sweep_id}")[1]["status"] in ("pending", "running"):
        time.sleep(0.5)
    wall = time.perf_counter() - start
    done.set()
    for t in threads:
        t.join(60)
    return wall, latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
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
            quiet, _ = run_sweep(base, 0, 0)
            loaded, latencies = run_sweep(base, 1, args.readers)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(60)
    table = Table(title=f"{args.readers} readers polling during a {len(_spec(0)['widths']) * 2 * 5}-trial sweep")
    for col in ("endpoint", "requests", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(col, justify="right")
    for name, values in latencies.items():
        if values:
            p50, p95, p99 = np.percentile(np.array(values) * 1000, [50, 95, 99])
            table.add_row(name, str(len(values)), f"{p50:.0f}", f"{p95:.0f}", f"{p99:.0f}")
    console.print(table)
    console.print(f"sweep wall: {quiet:.1f} s without readers, {loaded:.1f} s with: {loaded / quiet:.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
