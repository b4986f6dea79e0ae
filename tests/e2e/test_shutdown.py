"""SIGTERM to a serving process: the running sweep stops, its lease is released, Ray is shut down (no
process of the service's tree is left), the log has no stack dump, and a restart resumes the sweep."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from sweeps.store import Store
from tests.sweeps.conftest import small_spec


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Ray's GCS, raylet, workers, agents), by walking ppid links."""
    table = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    children: dict[int, list[int]] = {}
    for line in table.splitlines():
        child, parent = (int(x) for x in line.split())
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (zombies awaiting a reaper do not count)."""
    out = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ", 1)[1][0] != "Z":
                    out.add(pid)
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return out


def test_sigterm_stops_cleanly_leaves_no_ray_process_and_the_sweep_resumes(serve, tmp_path):
    url = f"sqlite:///{tmp_path}/term.db"
    spec = small_spec(name="e2e-term", widths=[512, 1024], lr={"values": [3e-4, 1e-3]}, steps=800, seeds=[0, 1],
                      sharpness={"probes": 0})  # 8 trials of ~3-8 s each
    server = serve(url)
    status, created = server.request("POST", "/api/v1/sweeps", spec)
    assert status == 202
    sweep_id = created["id"]
    server.wait(sweep_id, lambda d: d["counts"].get("running", 0) >= 1, timeout=120)
    tree = descendants(server.proc.pid)
    assert len(tree) >= 3, tree                                  # Ray's processes and its workers
    os.kill(server.proc.pid, signal.SIGTERM)                     # the service alone, as a supervisor would
    # uvicorn shuts down cleanly, then exits by the signal it caught (what a supervisor expects)
    assert server.proc.wait(timeout=90) in (0, -signal.SIGTERM)
    deadline = time.monotonic() + 20
    while alive(tree) and time.monotonic() < deadline:          # Ray's daemons exit on their own after the driver
        time.sleep(0.5)
    assert alive(tree) == set(), subprocess.run(["ps", "-o", "pid,cmd", "-p", ",".join(map(str, alive(tree)))],
                                                capture_output=True, text=True).stdout
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "Fatal Python error" not in log, log[-3000:]
    store = Store(url)
    counts = store.counts(sweep_id)
    assert store.status(sweep_id) == "pending" and "running" not in counts and store.lease(sweep_id) is None
    finished_before = counts.get("completed", 0)
    again = serve(url)                                            # a restart resumes it
    done = again.wait(sweep_id, lambda d: d["status"] == "completed", timeout=300)
    assert done["counts"] == {"completed": 8} and finished_before < 8
