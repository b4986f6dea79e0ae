"""Shared fixtures. One torch thread per process (pytest-xdist runs one process per core)."""

from __future__ import annotations

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def postgres_port():
    """A throwaway PostgreSQL cluster for this test process (tests/postgres.py)."""
    from tests.postgres import cluster
    yield from cluster()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path, monkeypatch):
    """A factory of fresh, empty store URLs, once on SQLite and once on PostgreSQL: the store's contract.

    The engines the test's stores open are disposed at its end (a pooled PostgreSQL connection left
    to the garbage collector warns, and warnings are errors here)."""
    import sweeps.store.store
    engines = []
    real = sweeps.store.store.create_engine

    def tracked(*args, **kwargs):
        engines.append(real(*args, **kwargs))
        return engines[-1]
    monkeypatch.setattr(sweeps.store.store, "create_engine", tracked)
    if request.param == "sqlite":
        counter = iter(range(1000))
        yield lambda: f"sqlite:///{tmp_path}/store{next(counter)}.db"
    else:
        from tests.postgres import new_database
        port = request.getfixturevalue("postgres_port")
        yield lambda: new_database(port)
    for engine in engines:
        engine.dispose()
