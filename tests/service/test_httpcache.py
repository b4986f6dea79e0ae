"""GETs about sweeps are cached under the store's revision: ETags, 304s, and never a stale body."""

from __future__ import annotations

from sweeps.domain import TrialResult, TrialState
from sweeps.store import Store
from tests.service.test_api import synthetic_sweep

PATHS = ("", "/trials", "/transfer", "/sharpness", "/optimal-lr?width=512")


def test_a_repeated_read_is_revalidated_with_a_304_and_a_change_shows_at_once(client, settings, monkeypatch):
    sweep_id = synthetic_sweep(settings)
    base = f"/api/v1/sweeps/{sweep_id}"
    first = {p: client.get(base + p) for p in PATHS}
    for path, r in first.items():
        assert r.status_code == 200 and r.headers["etag"].startswith('"') and r.headers["cache-control"] == "no-cache"
        again = client.get(base + path, headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == r.headers["etag"], path
    assert len({r.headers["etag"] for r in first.values()}) == len(PATHS)      # one tag per path and query

    from sweeps import application
    calls = []
    real = application._report
    monkeypatch.setattr(application, "_report", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    assert client.get(base + "/transfer").json() == first["/transfer"].json() and calls == []   # served as kept

    store = Store(settings.store)
    trials = store.trials_frame(sweep_id)
    trial_id = trials["id"].iloc[0]
    store.finish_trial(sweep_id, trial_id, TrialResult(TrialState.DIVERGED, 3, None, None, 3, 0.1, "w", []))
    for path, r in first.items():
        fresh = client.get(base + path, headers={"If-None-Match": r.headers["etag"]})
        assert fresh.status_code == 200 and fresh.headers["etag"] != r.headers["etag"], path
    row = next(t for t in client.get(base + "/trials").json()["data"] if t["id"] == trial_id)
    assert row["status"] == "diverged"                                          # not the kept body


def test_the_sweep_list_changes_with_any_sweep_and_unknown_ids_are_not_cached(client, settings):
    sweep_id = synthetic_sweep(settings)
    listing = client.get("/api/v1/sweeps")
    assert client.get("/api/v1/sweeps", headers={"If-None-Match": listing.headers["etag"]}).status_code == 304
    assert client.get("/api/v1/sweeps?limit=1").headers["etag"] != listing.headers["etag"]
    Store(settings.store).set_status(sweep_id, "cancelled")
    again = client.get("/api/v1/sweeps", headers={"If-None-Match": listing.headers["etag"]})
    assert again.status_code == 200 and again.json()["data"][0]["status"] == "cancelled"
    missing = client.get("/api/v1/sweeps/nope")
    assert missing.status_code == 404 and "etag" not in missing.headers


def test_the_kept_bodies_are_bounded(client, settings):
    sweep_id = synthetic_sweep(settings)
    cache = next(m for m in _middlewares(client.app) if type(m).__name__ == "VersionCache")
    cache.max_entries = 3
    for width in range(100, 110):
        assert client.get(f"/api/v1/sweeps/{sweep_id}/optimal-lr?width={width}").status_code == 200
    assert len(cache._bodies) == 3 and cache._size == sum(len(b) for b, _ in cache._bodies.values())


def _middlewares(app):
    node = app.middleware_stack
    while node is not None:
        yield node
        node = getattr(node, "app", None)


def test_sharpness_follows_the_probes_a_running_trial_streams(client, settings):
    sweep_id = synthetic_sweep(settings)
    store = Store(settings.store)
    trial_id = store.trials_frame(sweep_id)["id"].iloc[0]
    store.acquire(sweep_id, "runner")
    store.mark_running(sweep_id, trial_id, "w")
    path = f"/api/v1/sweeps/{sweep_id}/sharpness"
    before = client.get(path)
    store.add_live(sweep_id, trial_id, [(7, "sharpness/raw", 3.5), (7, "eos/raw", 0.1)])
    after = client.get(path, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    mine = next(s for s in after.json()["series"] if s["trial_id"] == trial_id)
    assert mine["live"] and mine["steps"][-1] == 7 and mine["sharpness"]["raw"][-1] == 3.5
