"""Store reads that front ends lean on: a page of sweeps costs a fixed number of queries."""

from __future__ import annotations

from sqlalchemy import event

from sweeps import application
from sweeps.spec import parse_spec
from sweeps.store import Store
from tests.sweeps.conftest import small_spec


def _queries(store: Store, call) -> int:
    seen = []
    listener = lambda *args: seen.append(args[2])  # noqa: E731 - the statement
    event.listen(store.engine, "before_cursor_execute", listener)
    try:
        call()
    finally:
        event.remove(store.engine, "before_cursor_execute", listener)
    return len(seen)


def test_listing_sweeps_costs_the_same_queries_for_one_or_twenty(store_url):
    store = Store(store_url())
    application.launch(store, parse_spec(small_spec(seeds=[0])))
    one = _queries(store, store.sweeps)
    for seed in range(1, 20):
        application.launch(store, parse_spec(small_spec(seeds=[seed])))
    twenty = _queries(store, store.sweeps)
    page = store.sweeps()
    assert len(page) == 20 and one == twenty <= 4
    assert [s.created_at for s in page] == sorted((s.created_at for s in page), reverse=True)  # newest first
    assert all(s.counts == {"pending": 4} and s.family == "mlp" and s.parameterizations == ("mup",) for s in page)
