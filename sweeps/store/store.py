"""The durable store: sweeps, trials and per-step metrics behind one SQLAlchemy engine.

The contract every backend keeps (the contract tests run it on SQLite and PostgreSQL):
  * a sweep is created with its first trials in ONE transaction: it exists with all of them, or not;
  * a trial's final status and all its metrics are written in ONE transaction, so a kill -9 at any
    moment leaves each trial either finished with all its metrics, or not finished with none;
  * `claim_pending` turns trials left ``running`` by a dead runner back into ``pending`` (they had
    no metrics yet) before a resume, so nothing finished runs twice and nothing unfinished is lost;
  * sweep ids are content hashes of the spec, trial ids content hashes of the trial config;
  * one runner at a time per sweep: `acquire` takes the sweep's lease (optimistically: a
    conditional update, so two runners racing for a stale lease cannot both win), a heartbeat keeps
    it, and a lease whose heartbeat is older than ``stale_after`` seconds, or whose process on this
    host has died (a kill -9), can be taken over at once;
  * a running trial's streamed metrics live in their own table (``live_metrics``), which the final
    write of the trial, a retry and a resume clear: they are for watching, never for analysis;
  * reads return typed, frozen objects (`SweepInfo`, `LeaseInfo`) or DataFrames, never ORM rows;
    listing a page of sweeps costs the same few queries whatever its length.

SQLite runs in WAL mode with ``synchronous=NORMAL``: durable against a process crash, and readers
(the CLI's ``status``, the service) never block the runner. The schema is versioned with alembic
(`sweeps.store.migrate`): opening an older store upgrades it.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast

import pandas as pd
from sqlalchemy import CursorResult, Result, create_engine, delete, event, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paramz.errors import ConfigError
from sweeps.domain import TRIAL_COLUMNS, Metric, SweepState, TrialResult, TrialState
from sweeps.spec import SweepSpec, TrialConfig, stored_spec
from sweeps.store import migrate
from sweeps.store.models import LeaseRow, LiveMetricRow, MetricRow, SweepRow, TrialRow

UNFINISHED_TRIALS = (TrialState.PENDING, TrialState.RUNNING)


class SweepNotFound(ConfigError):
    """No sweep with that id in the store."""


class SweepBusy(ConfigError):
    """Another live runner holds the sweep's lease, or the sweep is still active."""


@dataclass(frozen=True)
class LeaseInfo:
    """Who runs a sweep: ``owner`` is ``host:pid:token``; ``heartbeat_age`` in seconds."""

    owner: str
    heartbeat_age: float


@dataclass(frozen=True)
class SweepInfo:
    """A sweep as the lists and status pages show it.

    Attributes:
        counts: trials by state value (``{"completed": 12, "running": 2}``).
        runner: the owner of the sweep's lease while a runner holds it.
        best_loss: the lowest final held-out loss of its completed trials (None: none yet).
    """

    id: str
    name: str
    status: SweepState
    n_trials: int
    created_at: str
    updated_at: str
    family: str
    task: str
    parameterizations: tuple[str, ...]
    adaptive: bool
    counts: dict[str, int] = field(default_factory=dict)
    runner: str | None = None
    best_loss: float | None = None

    @property
    def finished_trials(self) -> int:
        return sum(n for s, n in self.counts.items() if TrialState(s).is_finished())

    @property
    def progress(self) -> float:
        """Finished trials / trials so far, in [0, 1]."""
        return min(self.finished_trials / self.n_trials, 1.0) if self.n_trials else 0.0


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_dead(owner: str, heartbeat_at: float, stale_after: float) -> bool:
    """A lease is stale when its heartbeat is old, or at once when its process on this host has died."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid)):
        return True
    return time.time() - heartbeat_at > stale_after


def new_owner() -> str:
    """A runner identity: host, pid and a random token (two runs in one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _rows(sweep_id: str, trial_id: str, records: Iterable[Metric]) -> list[dict[str, Any]]:
    return [{"sweep_id": sweep_id, "trial_id": trial_id, "step": step, "name": name,
             "value": None if value is None or not math.isfinite(value) else value} for step, name, value in records]


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched."""
    return cast(CursorResult[Any], result).rowcount


def _bump(s: Session, sweep_id: str) -> None:
    """Counts one more change of the sweep or its trials (in the caller's transaction; see `Store.sweep_revision`)."""
    s.execute(update(SweepRow).where(SweepRow.id == sweep_id).values(revision=SweepRow.revision + 1))


def _trial_row(sweep_id: str, config: TrialConfig) -> TrialRow:
    return TrialRow(sweep_id=sweep_id, id=config.id, parameterization=config.label, width=config.width,
                    depth=config.depth, lr=config.lr, seed=config.seed, config=config.model_dump_json(),
                    status=TrialState.PENDING, attempts=0)


class Store:
    """Sweeps, trials and metrics behind one SQLAlchemy engine (see the module docstring).

    Args:
        url: a database URL (``sqlite:///path.db``, ``postgresql+psycopg://...``).

    Raises:
        ConfigError: a URL SQLAlchemy cannot use.
    """

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine = create_engine(url)
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy raises several types for a bad URL
            raise ConfigError(f"store: cannot use {url!r} ({exc}); give a database URL such as "
                              "sqlite:///paramz.db") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.revision = migrate.upgrade(self.engine)
        self.url = url

    def close(self) -> None:
        """Closes the engine's connections (the store can still be used; it reconnects)."""
        self.engine.dispose()

    # --- sweeps -------------------------------------------------------------------------------
    def create_sweep(self, spec: SweepSpec, configs: Sequence[TrialConfig]) -> bool:
        """Creates the sweep with ``configs`` as its pending trials, in one transaction.

        Returns:
            True when it was created, False when it existed already (then nothing changes).
        """
        sweep_id, now = spec.sweep_id, _now()
        try:
            with Session(self.engine) as s, s.begin():
                if s.get(SweepRow, sweep_id) is not None:
                    return False
                s.add(SweepRow(id=sweep_id, name=spec.name, spec=spec.canonical_json(), status=SweepState.PENDING,
                               n_trials=len({c.id for c in configs}), created_at=now, updated_at=now,
                               family=spec.model.family, task=spec.task.name,
                               parameterizations=json.dumps([p.label for p in spec.parameterizations]),
                               adaptive=spec.search is not None))
                s.flush()
                s.add_all(_trial_row(sweep_id, c) for c in {c.id: c for c in configs}.values())
        except IntegrityError:  # created by a concurrent request a moment ago
            return False
        return True

    def add_trials(self, sweep_id: str, configs: Sequence[TrialConfig]) -> int:
        """Adds pending trials not already in the sweep (an adaptive search grows its sweep); returns how many."""
        with Session(self.engine) as s, s.begin():
            known = set(s.scalars(select(TrialRow.id).where(TrialRow.sweep_id == sweep_id)))
            new = {c.id: c for c in configs if c.id not in known}
            s.add_all(_trial_row(sweep_id, c) for c in new.values())
            s.execute(update(SweepRow).where(SweepRow.id == sweep_id).values(n_trials=len(known) + len(new)))
            _bump(s, sweep_id)
        return len(new)

    def spec(self, sweep_id: str) -> SweepSpec:
        """The sweep's spec, as it was launched."""
        return stored_spec(self._row(sweep_id).spec)

    def _row(self, sweep_id: str) -> SweepRow:
        with Session(self.engine) as s:
            row = s.get(SweepRow, sweep_id)
            if row is None:
                raise SweepNotFound(f"sweep id: no sweep {sweep_id!r} in {self.url}; `paramz sweep list` shows them")
            s.expunge(row)
            return row

    def status(self, sweep_id: str) -> SweepState:
        """The sweep's state.

        Raises:
            SweepNotFound: no such sweep.
        """
        return self._row(sweep_id).status

    def status_or_none(self, sweep_id: str) -> SweepState | None:
        """The sweep's state, or None when there is no such sweep."""
        with Session(self.engine) as s:
            return s.scalar(select(SweepRow.status).where(SweepRow.id == sweep_id))

    def set_status(self, sweep_id: str, status: SweepState) -> None:
        with Session(self.engine) as s, s.begin():
            s.execute(update(SweepRow).where(SweepRow.id == sweep_id).values(status=status, updated_at=_now(),
                                                                             revision=SweepRow.revision + 1))

    def reopen(self, sweep_id: str) -> None:
        """Makes a cancelled or failed sweep runnable again: its cancelled and failed trials go back to pending."""
        with Session(self.engine) as s, s.begin():
            s.execute(update(TrialRow).where(TrialRow.sweep_id == sweep_id,
                                             TrialRow.status.in_((TrialState.CANCELLED, TrialState.FAILED)))
                      .values(status=TrialState.PENDING, finished_at=None, attempts=0, error=None))
            s.execute(update(SweepRow).where(SweepRow.id == sweep_id)
                      .values(status=SweepState.PENDING, updated_at=_now(), revision=SweepRow.revision + 1))

    def delete_sweep(self, sweep_id: str) -> None:
        """Removes a finished sweep with its trials, metrics and lease, in one transaction.

        Raises:
            SweepNotFound: no such sweep.
            SweepBusy: the sweep is still pending or running (cancel it first).
        """
        with Session(self.engine) as s, s.begin():
            status = s.scalar(select(SweepRow.status).where(SweepRow.id == sweep_id).with_for_update())
            if status is None:
                raise SweepNotFound(sweep_id)
            if SweepState(status).is_active():
                raise SweepBusy(f"sweep {sweep_id!r} is {SweepState(status).value}; cancel it first "
                                f"(POST /api/v1/sweeps/{sweep_id}/cancel or `paramz sweep cancel {sweep_id}`)")
            for table in (MetricRow, LiveMetricRow, TrialRow, LeaseRow):
                s.execute(delete(table).where(table.sweep_id == sweep_id))
            s.execute(delete(SweepRow).where(SweepRow.id == sweep_id))

    def request_cancel(self, sweep_id: str) -> None:
        """Asks the sweep's runner to stop (a flag it polls); a finished sweep is left as it is."""
        with Session(self.engine) as s, s.begin():
            s.execute(update(SweepRow).where(SweepRow.id == sweep_id,
                                             SweepRow.status.in_([st for st in SweepState if st.is_active()]))
                      .values(status=SweepState.CANCELLING, updated_at=_now(), revision=SweepRow.revision + 1))

    def sweeps(self, offset: int = 0, limit: int | None = None, status: Sequence[SweepState] | None = None,
               newest_first: bool = True, search: str | None = None) -> list[SweepInfo]:
        """A page of sweeps, newest first by default, in four queries whatever the page's length.

        Args:
            status: only sweeps in these states.
            search: only sweeps whose name or id contains this (case-insensitive).
        """
        order = (SweepRow.created_at.desc(), SweepRow.id.desc()) if newest_first else (SweepRow.created_at,
                                                                                        SweepRow.id)
        query = _filtered(select(SweepRow), status, search).order_by(*order).offset(offset).limit(limit)
        with Session(self.engine) as s:
            rows = s.scalars(query).all()
            return self._infos(s, rows)

    def sweep(self, sweep_id: str) -> SweepInfo:
        """One sweep (see `SweepInfo`).

        Raises:
            SweepNotFound: no such sweep.
        """
        with Session(self.engine) as s:
            row = s.get(SweepRow, sweep_id)
            if row is None:
                raise SweepNotFound(f"sweep id: no sweep {sweep_id!r} in {self.url}; `paramz sweep list` shows them")
            return self._infos(s, [row])[0]

    def _infos(self, s: Session, rows: Sequence[SweepRow]) -> list[SweepInfo]:
        ids = [r.id for r in rows]
        if not ids:
            return []
        counts: dict[str, dict[str, int]] = {i: {} for i in ids}
        for sweep_id, state, n in s.execute(select(TrialRow.sweep_id, TrialRow.status, func.count())
                                            .where(TrialRow.sweep_id.in_(ids))
                                            .group_by(TrialRow.sweep_id, TrialRow.status)):
            counts[sweep_id][state.value] = n
        leases = s.scalars(select(LeaseRow).where(LeaseRow.sweep_id.in_(ids)))
        runners = {lease.sweep_id: lease.owner for lease in leases
                   if not _owner_dead(lease.owner, lease.heartbeat_at, 60.0)}
        best = {sweep_id: loss for sweep_id, loss in s.execute(
            select(TrialRow.sweep_id, func.min(TrialRow.final_eval_loss))
            .where(TrialRow.sweep_id.in_(ids), TrialRow.status == TrialState.COMPLETED).group_by(TrialRow.sweep_id))}
        return [SweepInfo(id=r.id, name=r.name, status=r.status, n_trials=r.n_trials, created_at=r.created_at,
                          updated_at=r.updated_at, family=r.family, task=r.task,
                          parameterizations=tuple(json.loads(r.parameterizations or "[]")), adaptive=bool(r.adaptive),
                          counts=counts[r.id], runner=runners.get(r.id), best_loss=best.get(r.id))
                for r in rows]

    def n_sweeps(self, status: Sequence[SweepState] | None = None, search: str | None = None) -> int:
        """How many sweeps (with the filters of `sweeps`)."""
        query = _filtered(select(func.count()).select_from(SweepRow), status, search)
        with Session(self.engine) as s:
            return int(s.scalar(query) or 0)

    def active_sweep_ids(self) -> list[str]:
        """Sweeps a runner works on or will (pending, running, cancelling), oldest first."""
        with Session(self.engine) as s:
            return list(s.scalars(select(SweepRow.id).where(SweepRow.status.in_(
                [st for st in SweepState if st.is_active()])).order_by(SweepRow.created_at, SweepRow.id)))

    def counts(self, sweep_id: str) -> dict[str, int]:
        """Trials of the sweep by state value."""
        with Session(self.engine) as s:
            rows = s.execute(select(TrialRow.status, func.count()).where(TrialRow.sweep_id == sweep_id)
                             .group_by(TrialRow.status)).all()
        return {state.value: n for state, n in rows}

    def version(self, sweep_id: str) -> tuple[Any, ...]:
        """What the sweep's results depend on, in one query: trials by state with their newest finish.

        Equal versions mean equal results (a trial's result and metrics are written in the transaction
        that finishes it), so an analysis can be cached under it.
        """
        with Session(self.engine) as s:
            rows = s.execute(select(TrialRow.status, func.count(), func.max(TrialRow.finished_at))
                             .where(TrialRow.sweep_id == sweep_id).group_by(TrialRow.status)).all()
        return tuple(sorted((state.value, n, str(last)) for state, n, last in rows))

    def sweep_revision(self, sweep_id: str) -> tuple[int, str | None, float | None] | None:
        """``(revision, lease owner, lease heartbeat)`` in one primary-key lookup, or None: no such sweep.

        The revision grows with every transaction that changes the sweep or its trials (a status, a
        trial started, finished, failed, requeued, a lease taken or given back), so anything read from
        the store about one sweep is unchanged while this is. Live metrics and heartbeats do not count.
        """
        with Session(self.engine) as s:
            row = s.execute(select(SweepRow.revision, LeaseRow.owner, LeaseRow.heartbeat_at)
                            .outerjoin(LeaseRow, LeaseRow.sweep_id == SweepRow.id)
                            .where(SweepRow.id == sweep_id)).first()
        return None if row is None else (int(row[0]), row[1], row[2])

    def live_revision(self, sweep_id: str) -> tuple[int, int | None]:
        """What the running trials of the sweep have streamed: ``(rows, newest row)`` of its live metrics."""
        with Session(self.engine) as s:
            n, newest = s.execute(select(func.count(), func.max(LiveMetricRow.pk))
                                  .where(LiveMetricRow.sweep_id == sweep_id)).one()
        return int(n), newest

    def list_revision(self) -> tuple[Any, ...]:
        """What a list of sweeps depends on: how many, the sum of their revisions, the newest, and the
        leases with their heartbeats (what says whether a runner is alive), in two queries over the
        small sweeps and leases tables."""
        with Session(self.engine) as s:
            n, total, newest = s.execute(select(func.count(), func.coalesce(func.sum(SweepRow.revision), 0),
                                                func.max(SweepRow.created_at))).one()
            leases = tuple(sorted(s.execute(select(LeaseRow.sweep_id, LeaseRow.owner, LeaseRow.heartbeat_at)).all()))
        return int(n), int(total), newest, leases

    # --- leases ------------------------------------------------------------------------------
    def acquire(self, sweep_id: str, owner: str, stale_after: float = 60.0) -> None:
        """Takes the sweep's lease for ``owner``.

        Raises:
            SweepBusy: a live runner holds it (named, with the age of its last heartbeat).
        """
        now = time.time()
        with Session(self.engine) as s, s.begin():
            row = s.get(LeaseRow, sweep_id)
            if row is None:
                s.add(LeaseRow(sweep_id=sweep_id, owner=owner, heartbeat_at=now))
                _bump(s, sweep_id)
                try:
                    s.flush()
                except IntegrityError:  # another runner inserted it first
                    raise SweepBusy(f"sweep {sweep_id}: another runner took it a moment ago; "
                                    "`paramz sweep status` shows its progress") from None
                return
            if row.owner != owner and not _owner_dead(row.owner, row.heartbeat_at, stale_after):
                raise SweepBusy(f"sweep {sweep_id}: already being run by {row.owner} (last heartbeat "
                                f"{now - row.heartbeat_at:.0f} s ago); wait for it, or cancel it first")
            taken = _rowcount(s.execute(update(LeaseRow).where(
                LeaseRow.sweep_id == sweep_id, LeaseRow.owner == row.owner, LeaseRow.heartbeat_at == row.heartbeat_at)
                .values(owner=owner, heartbeat_at=now)))
            if taken != 1:
                raise SweepBusy(f"sweep {sweep_id}: another runner took it over a moment ago")
            _bump(s, sweep_id)

    def heartbeat(self, sweep_id: str, owner: str) -> bool:
        """Refreshes the lease; False when ``owner`` no longer holds it."""
        with Session(self.engine) as s, s.begin():
            return _rowcount(s.execute(update(LeaseRow).where(LeaseRow.sweep_id == sweep_id, LeaseRow.owner == owner)
                                       .values(heartbeat_at=time.time()))) == 1

    def release(self, sweep_id: str, owner: str) -> None:
        with Session(self.engine) as s, s.begin():
            if _rowcount(s.execute(delete(LeaseRow).where(LeaseRow.sweep_id == sweep_id, LeaseRow.owner == owner))):
                _bump(s, sweep_id)

    def held(self, sweep_id: str, stale_after: float = 60.0) -> bool:
        """Whether a live runner holds the sweep's lease."""
        lease = self.lease(sweep_id)
        return lease is not None and not _owner_dead(lease.owner, time.time() - lease.heartbeat_age, stale_after)

    def lease(self, sweep_id: str) -> LeaseInfo | None:
        """The current lease, or None."""
        with Session(self.engine) as s:
            row = s.get(LeaseRow, sweep_id)
            return None if row is None else LeaseInfo(row.owner, time.time() - row.heartbeat_at)

    # --- trials ------------------------------------------------------------------------------
    def claim_pending(self, sweep_id: str) -> list[TrialConfig]:
        """Resets trials left running by a dead runner and returns every pending config."""
        with Session(self.engine) as s, s.begin():
            s.execute(update(TrialRow).where(TrialRow.sweep_id == sweep_id, TrialRow.status == TrialState.RUNNING)
                      .values(status=TrialState.PENDING, worker=None, started_at=None))
            _bump(s, sweep_id)
            self._clear_live(s, sweep_id)
            rows = s.scalars(select(TrialRow.config).where(TrialRow.sweep_id == sweep_id,
                                                           TrialRow.status == TrialState.PENDING)).all()
        return [TrialConfig.stored(c) for c in rows]

    def add_live(self, sweep_id: str, trial_id: str, records: Sequence[Metric]) -> None:
        """Appends metrics a running trial streamed (kept apart until it finishes)."""
        if records:
            with Session(self.engine) as s, s.begin():
                s.execute(insert(LiveMetricRow), _rows(sweep_id, trial_id, records))

    def _clear_live(self, s: Session, sweep_id: str, trial_ids: Sequence[str] | None = None) -> None:
        query = delete(LiveMetricRow).where(LiveMetricRow.sweep_id == sweep_id)
        if trial_ids is not None:
            query = query.where(LiveMetricRow.trial_id.in_(list(trial_ids)))
        s.execute(query)

    def requeue_running(self, sweep_id: str) -> None:
        """Running trials (their runner stopped them) go back to pending, their live metrics dropped."""
        with Session(self.engine) as s, s.begin():
            s.execute(update(TrialRow).where(TrialRow.sweep_id == sweep_id, TrialRow.status == TrialState.RUNNING)
                      .values(status=TrialState.PENDING))
            s.execute(delete(LiveMetricRow).where(LiveMetricRow.sweep_id == sweep_id))
            _bump(s, sweep_id)

    def mark_running(self, sweep_id: str, trial_id: str, worker: str) -> None:
        with Session(self.engine) as s, s.begin():
            s.execute(update(TrialRow).where(TrialRow.sweep_id == sweep_id, TrialRow.id == trial_id)
                      .values(status=TrialState.RUNNING, worker=worker, started_at=_now(),
                              attempts=TrialRow.attempts + 1))
            _bump(s, sweep_id)

    def mark_pending(self, sweep_id: str, trial_id: str, error: str) -> None:
        """Puts a trial whose worker died back in the queue, keeping the error."""
        with Session(self.engine) as s, s.begin():
            self._clear_live(s, sweep_id, [trial_id])
            s.execute(update(TrialRow).where(TrialRow.sweep_id == sweep_id, TrialRow.id == trial_id)
                      .values(status=TrialState.PENDING, error=error))
            _bump(s, sweep_id)

    def finish_trial(self, sweep_id: str, trial_id: str, result: TrialResult) -> None:
        """Writes a finished trial: its status and all its metrics, in one transaction."""
        with Session(self.engine) as s, s.begin():
            s.execute(delete(MetricRow).where(MetricRow.sweep_id == sweep_id, MetricRow.trial_id == trial_id))
            self._clear_live(s, sweep_id, [trial_id])
            if result.metrics:
                s.execute(insert(MetricRow), _rows(sweep_id, trial_id, result.metrics))
            s.execute(update(TrialRow).where(TrialRow.sweep_id == sweep_id, TrialRow.id == trial_id).values(
                status=TrialState(result.status), worker=result.worker, diverged_step=result.diverged_step,
                steps_done=result.steps_done, final_train_loss=result.final_train_loss,
                final_eval_loss=result.final_eval_loss, seconds=result.seconds, finished_at=_now(), error=None))
            _bump(s, sweep_id)

    def fail_trial(self, sweep_id: str, trial_id: str, error: str) -> None:
        """Marks a trial failed with its error (kept to its last 4000 characters)."""
        with Session(self.engine) as s, s.begin():
            self._clear_live(s, sweep_id, [trial_id])
            s.execute(update(TrialRow).where(TrialRow.sweep_id == sweep_id, TrialRow.id == trial_id)
                      .values(status=TrialState.FAILED, error=error[-4000:], finished_at=_now()))
            _bump(s, sweep_id)

    def cancel_unfinished(self, sweep_id: str) -> None:
        """Marks every pending or running trial cancelled."""
        with Session(self.engine) as s, s.begin():
            self._clear_live(s, sweep_id)
            s.execute(update(TrialRow).where(TrialRow.sweep_id == sweep_id, TrialRow.status.in_(UNFINISHED_TRIALS))
                      .values(status=TrialState.CANCELLED, finished_at=_now()))
            _bump(s, sweep_id)

    # --- reading -----------------------------------------------------------------------------
    def trials_frame(self, sweep_id: str) -> pd.DataFrame:
        """One row per trial (`sweeps.domain.TRIAL_COLUMNS`: scale, LR, seed, state, losses, timings).

        Raises:
            SweepNotFound: no such sweep.
        """
        self._row(sweep_id)
        columns = [getattr(TrialRow, c) for c in TRIAL_COLUMNS]
        with Session(self.engine) as s:
            rows = s.execute(select(*columns).where(TrialRow.sweep_id == sweep_id)).all()
        frame = pd.DataFrame(rows, columns=list(TRIAL_COLUMNS))
        frame["status"] = [str(state) for state in frame["status"]]
        return frame

    def trial_configs(self, sweep_id: str, trial_ids: Iterable[str] | None = None) -> list[TrialConfig]:
        """The configs of the sweep's trials (all, or those named)."""
        query = select(TrialRow.config).where(TrialRow.sweep_id == sweep_id)
        if trial_ids is not None:
            query = query.where(TrialRow.id.in_(list(trial_ids)))
        with Session(self.engine) as s:
            return [TrialConfig.stored(c) for c in s.scalars(query)]

    def metrics_frame(self, sweep_id: str, trial_ids: Iterable[str] | None = None, live: bool = False,
                      names_like: str | None = None) -> pd.DataFrame:
        """Per-step metrics (trial_id, step, name, value) as a pandas DataFrame.

        Args:
            trial_ids: only these trials (default: all).
            live: also the metrics running trials have streamed so far (column ``live`` True).
            names_like: only metrics whose name starts with this.
        """
        ids = None if trial_ids is None else list(trial_ids)
        frames = []
        for table, is_live in ((MetricRow, False), (LiveMetricRow, True)) if live else ((MetricRow, False),):
            query = select(table.trial_id, table.step, table.name, table.value).where(table.sweep_id == sweep_id)
            if ids is not None:
                query = query.where(table.trial_id.in_(ids))
            if names_like is not None:
                query = query.where(table.name.startswith(names_like, autoescape=True))
            with Session(self.engine) as s:
                frame = pd.DataFrame(s.execute(query).all(), columns=["trial_id", "step", "name", "value"])
            if live:
                frame["live"] = is_live
            frames.append(frame)
        if len(frames) == 1:
            return frames[0]
        return pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)


def _filtered(query: Any, status: Sequence[SweepState] | None, search: str | None) -> Any:
    if status is not None:
        query = query.where(SweepRow.status.in_(list(status)))
    if search:
        needle = search.lower()
        query = query.where(or_(func.lower(SweepRow.name).contains(needle, autoescape=True),
                                SweepRow.id.contains(needle, autoescape=True)))
    return query


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
