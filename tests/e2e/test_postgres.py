"""Two service processes on one PostgreSQL: a sweep posted to either is run by exactly one of them."""

from __future__ import annotations

from tests.postgres import new_database
from tests.sweeps.conftest import small_spec


def test_two_services_on_one_postgresql_never_run_a_sweep_twice(serve, postgres_port):
    url = new_database(postgres_port)
    first, second = serve(url, executor="local"), serve(url, executor="local")
    ids = []
    for server, seeds in ((first, [0, 1]), (second, [2, 3])):
        status, created = server.request("POST", "/api/v1/sweeps", small_spec(name=f"pg-{seeds[0]}", seeds=seeds))
        assert status == 202, created
        ids.append(created["id"])
    for sweep_id in ids:   # each sweep, whichever server it was posted to, is visible to and finished for both
        # completed and its lease given back (the runner sets the status, then releases the lease)
        done = second.wait(sweep_id, lambda d: d["status"] == "completed" and d["runner"] is None, timeout=180)
        assert done["counts"] == {"completed": 8} and first.get(f"/api/v1/sweeps/{sweep_id}") == done
        trials = first.get(f"/api/v1/sweeps/{sweep_id}/trials?limit=100")["data"]
        assert len(trials) == 8 and all(t["attempts"] == 1 for t in trials)                # none ran twice
        assert len({t["worker"] for t in trials}) == 1                                      # one runner ran it
