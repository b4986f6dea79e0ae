"""A store written by the first version of the code (before migrations) opens, upgrades and resumes.

``tests/fixtures/store_v1.sqlite`` was written by commit d8f6096 (the last code without
migrations): a grid sweep whose runner was killed mid-run (one trial running with live metrics,
one pending, six completed, a lease of a dead host) and a cancelled sweep. ``ids_v1.json`` holds
the sweep and trial ids that code computed for four specs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import sqlalchemy as sa

from sweeps import application
from sweeps.domain import SweepState
from sweeps.run import LocalExecutor, run_sweep
from sweeps.search import expand
from sweeps.spec import parse_spec
from sweeps.store import Store, migrate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GRID, CANCELLED = "a924c480e628", "4cacb0e2d083"
RUNNING, PENDING = "219241924bdca053", "4bf06759f8657368"


def old_store(tmp_path) -> Store:
    shutil.copy(FIXTURES / "store_v1.sqlite", tmp_path / "v1.db")
    return Store(f"sqlite:///{tmp_path}/v1.db")


def test_ids_are_the_ones_the_first_version_computed():
    ids = json.loads((FIXTURES / "ids_v1.json").read_text())
    for name in ("adaptive", "gpt"):
        spec = parse_spec(ids[name]["spec"])
        assert spec.sweep_id == ids[name]["sweep_id"]
    assert sorted(c.id for c in expand(parse_spec(ids["gpt"]["spec"]))) == ids["gpt"]["trial_ids"]
    for sweep_id in (GRID, CANCELLED):
        spec = parse_spec(ids[sweep_id]["spec"])
        assert spec.sweep_id == sweep_id and sorted(c.id for c in expand(spec)) == ids[sweep_id]["trial_ids"]


def test_an_old_store_is_upgraded_and_reads_as_before(tmp_path):
    store = old_store(tmp_path)
    assert store.revision == migrate.head()
    with store.engine.connect() as connection:
        assert migrate.current(connection) == migrate.head()
    grid = store.sweep(GRID)
    assert (grid.status, grid.family, grid.task, grid.parameterizations) == ("running", "mlp", "teacher", ("sp", "mup"))
    assert grid.counts == {"completed": 6, "pending": 1, "running": 1} and grid.best_loss is not None
    assert [s.id for s in store.sweeps()] == [CANCELLED, GRID]                       # newest first
    configs = store.trial_configs(GRID)                                               # nested now
    assert sorted(c.id for c in configs) == sorted(store.trials_frame(GRID).id)       # ...and hashing to their ids
    assert store.spec(GRID).sweep_id == GRID


def test_the_killed_sweep_resumes_and_the_cancelled_one_relaunches(tmp_path):
    store = old_store(tmp_path)
    before = store.trials_frame(GRID).set_index("id")
    assert len(store.metrics_frame(GRID, live=True).query("live")) == 1               # the killed trial's stream
    assert run_sweep(store, GRID, LocalExecutor()) is SweepState.COMPLETED            # the dead host's lease is stale
    after = store.trials_frame(GRID).set_index("id")
    done = before.index[before.status == "completed"]
    assert (after.status == "completed").all()
    assert after.loc[done, "finished_at"].equals(before.loc[done, "finished_at"])     # not run again
    assert after.loc[RUNNING, "attempts"] == 2 and after.loc[PENDING, "attempts"] == 1
    metrics = store.metrics_frame(GRID, live=True)
    assert not metrics.live.any() and set(metrics.trial_id) == set(after.index)
    launched = application.launch(store, store.spec(CANCELLED))
    assert launched.reopened and launched.status is SweepState.PENDING
    assert run_sweep(store, CANCELLED, LocalExecutor()) is SweepState.COMPLETED


def test_a_new_store_and_an_upgraded_one_have_the_same_schema(tmp_path):
    def schema(store: Store) -> dict[str, list[tuple[str, str, bool]]]:
        inspector = sa.inspect(store.engine)
        return {t: sorted((c["name"], str(c["type"]), bool(c["nullable"])) for c in inspector.get_columns(t))
                for t in sorted(inspector.get_table_names())}

    assert schema(old_store(tmp_path)) == schema(Store(f"sqlite:///{tmp_path}/new.db"))
