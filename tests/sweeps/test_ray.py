"""The sweep engine through real Ray: end to end, kill -9 and resume, a dead worker, two nodes.

Each Ray driver runs in a subprocess of its own (the CLI, or a small script), so these tests never
share a Ray instance with each other or with pytest's process.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime

import pytest

from tests.sweeps.conftest import ENV, cli


def rows(db, query):
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def wait_for(predicate, timeout=120.0):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if predicate():
                return True
        except sqlite3.OperationalError:  # the runner has not created the tables yet
            pass
        time.sleep(0.2)
    return False


def t(iso):
    return datetime.fromisoformat(iso).timestamp()


def test_sweep_through_local_ray_uses_both_cores(tmp_path, spec_file):
    db = tmp_path / "r.db"
    spec = spec_file(widths=[64, 128], lr={"values": [1e-3, 3e-3, 1e-2, 1e4]}, steps=300)
    proc = cli("sweep", "run", spec, "--store", f"sqlite:///{db}", "--workers", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    trials = rows(db, "SELECT status, worker, seconds, started_at, finished_at FROM trials")
    assert sorted({r[0] for r in trials}) == ["completed", "diverged"] and len(trials) == 8
    assert len({r[1] for r in trials}) == 2  # two long-lived workers, torch imported once each
    busy = sum(r[2] for r in trials)
    wall = max(t(r[4]) for r in trials) - min(t(r[3]) for r in trials)
    assert busy / wall > 1.5, (busy, wall)  # both cores busy (measured from the trials' own clocks)


def test_kill_9_mid_sweep_then_resume_loses_nothing_and_repeats_nothing(tmp_path, spec_file):
    db = tmp_path / "k.db"
    spec = spec_file(widths=[64, 128], lr={"values": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]}, steps=400)
    args = [sys.executable, "-m", "sweeps.cli", "sweep", "run", str(spec), "--store", f"sqlite:///{db}"]
    runner = subprocess.Popen(args, env=ENV, start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    assert wait_for(lambda: rows(db, "SELECT count(*) FROM trials WHERE status='completed'")[0][0] >= 3)
    os.killpg(runner.pid, signal.SIGKILL)  # the runner and the Ray processes in its group
    runner.wait()
    before = dict(rows(db, "SELECT id, finished_at FROM trials WHERE status='completed'"))
    n_metrics = dict(rows(db, "SELECT trial_id, count(*) FROM metrics GROUP BY trial_id"))
    assert before and set(n_metrics) == set(before)  # no metrics of unfinished trials were written
    proc = cli("sweep", "run", spec, "--store", f"sqlite:///{db}", "--json")
    assert proc.returncode == 0, proc.stderr
    after = dict(rows(db, "SELECT id, finished_at FROM trials WHERE status='completed'"))
    assert len(after) == 10
    assert all(after[i] == before[i] for i in before)  # finished trials kept, not run again
    metrics_after = dict(rows(db, "SELECT trial_id, count(*) FROM metrics GROUP BY trial_id"))
    assert all(metrics_after[i] == n_metrics[i] for i in before)  # metrics of kept trials untouched
    attempts = dict(rows(db, "SELECT id, attempts FROM trials"))
    assert all(attempts[i] == 1 for i in before)


def test_a_worker_killed_mid_trial_is_replaced_and_the_trial_retried(tmp_path, spec_file):
    db = tmp_path / "w.db"
    spec = spec_file(widths=[256], lr={"values": [1e-3, 2e-3]}, steps=1500, sharpness={"probes": 0})
    args = [sys.executable, "-m", "sweeps.cli", "sweep", "run", str(spec), "--store", f"sqlite:///{db}", "--json"]
    runner = subprocess.Popen(args, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert wait_for(lambda: rows(db, "SELECT count(*) FROM trials WHERE status='running'")[0][0] >= 1)
    time.sleep(1.0)  # well inside the trial
    (trial_id, worker), *_ = rows(db, "SELECT id, worker FROM trials WHERE status='running'")
    os.kill(int(worker.rsplit(":", 1)[1]), signal.SIGKILL)
    out, err = runner.communicate(timeout=300)
    assert runner.returncode == 0, err
    (status, attempts, new_worker), = rows(db, f"SELECT status, attempts, worker FROM trials WHERE id='{trial_id}'")
    assert (status, attempts) == ("completed", 2) and new_worker != worker


CLUSTER_SCRIPT = """
import sys
from ray.cluster_utils import Cluster
from sweeps import application
from sweeps.run import RayExecutor
from sweeps.spec import load_spec
from sweeps.store import Store

cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
cluster.add_node(num_cpus=1)
cluster.wait_for_nodes()
try:
    executor = RayExecutor(address=cluster.address)
    import ray
    print("nodes", len([n for n in ray.nodes() if n["Alive"]]), "workers", executor.n_workers, flush=True)
    store = Store(sys.argv[2])
    sweep_id = application.launch(store, load_spec(sys.argv[1])).sweep_id
    print("status", application.run(store, sweep_id, executor), flush=True)
    executor.close()
finally:
    cluster.shutdown()
"""


def test_sweep_on_a_two_node_cluster_through_its_address(tmp_path, spec_file):
    db = tmp_path / "c.db"
    script = tmp_path / "cluster.py"
    script.write_text(CLUSTER_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(spec_file()), f"sqlite:///{db}"], env=ENV,
                          capture_output=True, text=True, timeout=300, cwd=os.getcwd())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "nodes 2 workers 2" in proc.stdout and "status completed" in proc.stdout
    assert rows(db, "SELECT count(*) FROM trials WHERE status='completed'")[0][0] == 4
    assert len({w for (w,) in rows(db, "SELECT worker FROM trials")}) == 2


@pytest.mark.parametrize("lrs", [[1e-4, 2e-4, 5e-4, 1e-3], [1e-3]], ids=["both-busy", "one-idle"])
def test_cancel_stops_running_ray_trials_and_marks_the_rest(tmp_path, spec_file, lrs):
    """With one worker idle at cancel time too (replacing it as well would wait forever for its CPU)."""
    from sweeps.store import Store

    db = tmp_path / "x.db"
    spec = spec_file(widths=[256], lr={"values": lrs}, steps=6000, sharpness={"probes": 0})
    args = [sys.executable, "-m", "sweeps.cli", "sweep", "run", str(spec), "--store", f"sqlite:///{db}", "--json",
            "--workers", "2"]
    runner = subprocess.Popen(args, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    busy = min(len(lrs), 2)
    assert wait_for(lambda: rows(db, "SELECT count(*) FROM trials WHERE status='running'")[0][0] == busy)
    time.sleep(1.0)
    running = {i for (i,) in rows(db, "SELECT id FROM trials WHERE status='running'")}  # each needs > 15 s more
    (sweep_id,), = rows(db, "SELECT id FROM sweeps")
    Store(f"sqlite:///{db}").request_cancel(sweep_id)
    cancelled_at = time.monotonic()
    out, err = runner.communicate(timeout=120)
    assert time.monotonic() - cancelled_at < 25, "running trials were not stopped"  # each needs >= 45 s more
    assert runner.returncode == 1, err
    status = dict(rows(db, "SELECT id, status FROM trials"))
    assert rows(db, "SELECT status FROM sweeps")[0][0] == "cancelled"
    assert all(status[i] == "cancelled" for i in running) and set(status.values()) == {"cancelled"}
    assert rows(db, "SELECT count(*) FROM metrics")[0][0] == 0


def test_workers_whose_raylet_is_dead_are_reaped_and_others_left_alone():
    from sweeps.run.executors.ray import reap_orphans

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    orphan = subprocess.Popen(sleeper, env={**os.environ, "RAY_RAYLET_PID": dead.stdout.strip()})
    kept = subprocess.Popen(sleeper, env={**os.environ, "RAY_RAYLET_PID": str(os.getpid())})   # its raylet lives
    try:
        time.sleep(0.5)
        assert orphan.pid in reap_orphans()
        assert orphan.wait(timeout=10) == -signal.SIGKILL and kept.poll() is None
    finally:
        for proc in (orphan, kept):
            proc.kill()
            proc.wait()
