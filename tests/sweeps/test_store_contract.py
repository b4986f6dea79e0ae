"""The store's contract on SQLite and on PostgreSQL alike (the ``store_url`` fixture runs each test on both):
one-transaction creation, concurrent writers, removal. Resume, leases, cancel and live metrics are in
test_engine.py under the same fixture."""

from __future__ import annotations

import threading

import pytest

import sweeps.store.store
from sweeps import application
from sweeps.domain import TrialResult, TrialState
from sweeps.run import LocalExecutor
from sweeps.search import expand
from sweeps.spec import parse_spec
from sweeps.store import Store, SweepBusy, SweepNotFound
from tests.sweeps.conftest import run_spec, small_spec


def test_a_sweep_is_created_with_all_its_trials_or_not_at_all(store_url, monkeypatch):
    store = Store(store_url())
    spec = parse_spec(small_spec(seeds=[0, 1, 2]))
    real = sweeps.store.store._trial_row
    calls = []

    def failing(sweep_id, config):   # the 7th trial row cannot be written (as a seed out of range once could not)
        calls.append(config.id)
        if len(calls) == 7:
            raise OverflowError("simulated: the database refused a value")
        return real(sweep_id, config)
    monkeypatch.setattr(sweeps.store.store, "_trial_row", failing)
    with pytest.raises(OverflowError):
        store.create_sweep(spec, expand(spec))
    assert store.n_sweeps() == 0
    with pytest.raises(SweepNotFound):
        store.sweep(spec.sweep_id)
    monkeypatch.setattr(sweeps.store.store, "_trial_row", real)
    assert store.create_sweep(spec, expand(spec)) and store.counts(spec.sweep_id) == {"pending": 12}


def test_concurrent_writers_finish_every_trial_once(store_url):
    url = store_url()
    spec = parse_spec(small_spec(seeds=list(range(8))))
    store = Store(url)
    sweep_id = application.launch(store, spec).sweep_id
    configs = expand(spec)
    halves = [configs[0::2], configs[1::2]]
    errors = []

    def write(part):
        own = Store(url)   # each writer its own engine and connections, as two processes would have
        try:
            for cfg in part:
                own.mark_running(sweep_id, cfg.id, "writer")
                own.add_live(sweep_id, cfg.id, [(0, "train_loss", 1.0)])
                own.finish_trial(sweep_id, cfg.id, TrialResult(TrialState.COMPLETED, 1, 0.5, 0.5, None, 0.1, "w",
                                                               [(0, "train_loss", 1.0), (1, "eval_loss", 0.5)]))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            own.engine.dispose()
    threads = [threading.Thread(target=write, args=(part,)) for part in halves]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    trials = store.trials_frame(sweep_id)
    assert len(trials) == 32 and set(trials.status) == {"completed"} and (trials.attempts == 1).all()
    metrics = store.metrics_frame(sweep_id, live=True)
    assert len(metrics) == 64 and not metrics.live.any()          # two records each, live ones cleared


def test_a_finished_sweep_is_removed_with_everything_and_an_active_one_is_refused(store_url):
    store = Store(store_url())
    spec = parse_spec(small_spec())
    active = application.launch(store, spec).sweep_id
    with pytest.raises(SweepBusy, match="cancel it first"):
        store.delete_sweep(active)
    run_spec(spec, store, LocalExecutor())
    other = parse_spec(small_spec(seeds=[5]))
    kept = run_spec(other, store, LocalExecutor())
    assert not store.metrics_frame(active).empty
    store.delete_sweep(active)
    assert [i.id for i in store.sweeps()] == [kept] and store.metrics_frame(active).empty
    assert len(store.trials_frame(kept)) == 4                      # the other sweep untouched
    with pytest.raises(SweepNotFound):
        store.delete_sweep(active)


def test_the_report_is_computed_once_per_sweep_version(store_url, monkeypatch):
    store = Store(store_url())
    spec = parse_spec(small_spec(seeds=[0, 1]))
    sweep_id = run_spec(spec, store, LocalExecutor())
    calls = []
    real = application._report
    monkeypatch.setattr(application, "_report", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    first = application.report(store, sweep_id)
    assert application.report(store, sweep_id) is first and len(calls) == 1       # polling: no recomputation
    assert application.report(store, sweep_id, tolerance=1.0) is not first and len(calls) == 2
    more = parse_spec(small_spec(seeds=[0, 1], steps=41))                           # another sweep: its own key
    run_spec(more, store, LocalExecutor())
    assert application.report(store, sweep_id) is first and len(calls) == 2
    cfg = expand(spec)[0]
    store.mark_running(sweep_id, cfg.id, "w")                                       # a trial starts again ...
    assert application.report(store, sweep_id) is not first and len(calls) == 3    # ... the version moved


def test_concurrent_readers_of_one_version_compute_the_report_once(tmp_path, monkeypatch):
    import threading
    import time

    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    sweep_id = run_spec(parse_spec(small_spec(seeds=[0, 1])), store, LocalExecutor())
    calls = []
    real = application._report

    def slow(*args, **kwargs):
        calls.append(1)
        time.sleep(0.3)                      # long enough for every reader to arrive while it computes
        return real(*args, **kwargs)

    monkeypatch.setattr(application, "_report", slow)
    results = []
    readers = [threading.Thread(target=lambda: results.append(application.report(store, sweep_id, width=999)))
               for _ in range(8)]
    for t in readers:
        t.start()
    for t in readers:
        t.join(30)
    assert len(results) == 8 and len(calls) == 1 and all(r is results[0] for r in results)


def test_every_change_of_a_sweep_or_its_trials_bumps_its_revision_and_nothing_else_does(store_url):
    store = Store(store_url())
    spec = parse_spec(small_spec(seeds=[0, 1]))
    sweep_id = application.launch(store, spec).sweep_id
    other = application.launch(store, parse_spec(small_spec(seeds=[5]))).sweep_id
    a, b, c = expand(spec)[:3]
    seen = [store.sweep_revision(sweep_id)[0]]

    def changed(what):
        now = store.sweep_revision(sweep_id)[0]
        assert now > seen[-1], what
        seen.append(now)

    def unchanged(what):
        assert store.sweep_revision(sweep_id)[0] == seen[-1], what

    result = TrialResult(TrialState.COMPLETED, 40, 0.5, 0.6, None, 0.1, "w", [(40, "eval_loss", 0.6)])
    store.acquire(sweep_id, "me")
    changed("lease taken")
    store.heartbeat(sweep_id, "me")
    store.add_live(sweep_id, a.id, [(1, "train_loss", 1.0)])
    store.mark_running(other, expand(parse_spec(small_spec(seeds=[5])))[0].id, "w")
    unchanged("a heartbeat, live metrics and another sweep's trial")
    for what, write in [("status", lambda: store.set_status(sweep_id, "running")),
                        ("trial started", lambda: store.mark_running(sweep_id, a.id, "w")),
                        ("trial finished", lambda: store.finish_trial(sweep_id, a.id, result)),
                        ("trial requeued", lambda: (store.mark_running(sweep_id, b.id, "w"),
                                                    store.mark_pending(sweep_id, b.id, "worker died"))),
                        ("trial failed", lambda: (store.mark_running(sweep_id, c.id, "w"),
                                                  store.fail_trial(sweep_id, c.id, "boom"))),
                        ("running trials requeued", lambda: (store.mark_running(sweep_id, b.id, "w"),
                                                             store.requeue_running(sweep_id))),
                        ("trials added", lambda: store.add_trials(sweep_id, expand(parse_spec(small_spec(seeds=[9]))))),
                        ("pending claimed", lambda: store.claim_pending(sweep_id)),
                        ("lease given back", lambda: store.release(sweep_id, "me")),
                        ("cancel asked", lambda: store.request_cancel(sweep_id)),
                        ("unfinished cancelled", lambda: store.cancel_unfinished(sweep_id)),
                        ("reopened", lambda: store.reopen(sweep_id))]:
        write()
        changed(what)
    assert store.sweep_revision("nope") is None
    listed = store.list_revision()
    store.set_status(other, "running")
    assert store.list_revision() != listed
