"""The service runs several sweeps at once on its one worker pool: a small sweep launched behind a big one
does not wait for it."""

from __future__ import annotations

import time

from tests.service.conftest import TOKEN, body


def test_two_sweeps_launched_together_both_progress_from_the_start(make_client):
    client = make_client(run_sweeps=True, executor="local", max_active_sweeps=2)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    big = client.post("/api/v1/sweeps", headers=auth, json=body(
        name="big", lr={"values": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]}, seeds=[0, 1], sharpness={"probes": 0})).json()
    small = client.post("/api/v1/sweeps", headers=auth, json=body(
        name="small", lr={"values": [1e-3]}, sharpness={"probes": 0})).json()
    assert big["n_trials"] == 20 and small["n_trials"] == 2
    deadline = time.monotonic() + 120
    while client.get(f"/api/v1/sweeps/{small['id']}").json()["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    behind = client.get(f"/api/v1/sweeps/{big['id']}").json()
    assert behind["status"] == "running" and behind["counts"].get("completed", 0) <= 6, behind
    assert client.get("/healthz").json()["current_sweep"] == big["id"]
    while client.get(f"/api/v1/sweeps/{big['id']}").json()["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.1)
