"""The durable store: sweeps, trials and per-step metrics in SQLAlchemy (SQLite file by default).

The contract every backend keeps (the tests run against SQLite; any SQLAlchemy URL works):
  * a trial's final status and all its metrics are written in ONE transaction, so a kill -9 at
    any moment leaves each trial either finished with all its metrics, or not finished (pending or
    running) with none;
  * `claim_pending` turns trials left ``running`` by a dead runner back into ``pending`` (they had
    no metrics yet) before a resume, so nothing finished runs twice and nothing unfinished is lost;
  * sweep ids are content hashes of the spec, trial ids content hashes of the trial config;
  * one runner at a time per sweep: `acquire` takes the sweep's lease (optimistically: a
    conditional update, so two runners racing for a stale lease cannot both win), a heartbeat keeps
    it, and a lease whose heartbeat is older than ``stale_after`` seconds, or whose process on this
    host has died (a kill -9), can be taken over at once;
  * a running trial's streamed metrics live in their own table (``live_metrics``), which the final
    write of the trial, a retry and a resume clear: they are for watching, never for analysis.

SQLite runs in WAL mode with ``synchronous=NORMAL``: durable against a process crash, and readers
(the CLI's ``status``, the service) never block the runner.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from sqlalchemy import (Float, ForeignKeyConstraint, Index, Integer, String, Text, create_engine, delete, event,
                        func, select, update)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from paramz.errors import ConfigError
from sweeps.spec import SweepSpec, parse_spec
from sweeps.trial import TrialConfig, TrialResult

FINISHED = ("completed", "diverged", "failed", "cancelled")
DEFAULT_URL = "sqlite:///paramz.db"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Base(DeclarativeBase):
    pass


class SweepRow(Base):
    __tablename__ = "sweeps"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    spec: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # pending running completed cancelling cancelled
    n_trials: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[str] = mapped_column(String(40))


class TrialRow(Base):
    __tablename__ = "trials"
    sweep_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    parameterization: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    depth: Mapped[int] = mapped_column(Integer)
    lr: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(Integer)
    config: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    diverged_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    steps_done: Mapped[int | None] = mapped_column(Integer, nullable=True)
    final_train_loss: Mapped[float | None] = mapped_column(Float, nullable=True)
    final_eval_loss: Mapped[float | None] = mapped_column(Float, nullable=True)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    started_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    finished_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    __table_args__ = (ForeignKeyConstraint(["sweep_id"], ["sweeps.id"]),)


class _MetricColumns:
    """One metric value of one trial at one step."""
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sweep_id: Mapped[str] = mapped_column(String(32))
    trial_id: Mapped[str] = mapped_column(String(32))
    step: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)


class MetricRow(_MetricColumns, Base):
    """Metrics of finished trials, written with the trial's status in one transaction."""
    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_trial", "sweep_id", "trial_id"),)


class LiveMetricRow(_MetricColumns, Base):
    """Metrics a running trial streamed; replaced by its `MetricRow`s when it finishes."""
    __tablename__ = "live_metrics"
    __table_args__ = (Index("ix_live_metrics_trial", "sweep_id", "trial_id"),)


class LeaseRow(Base):
    """Who is running a sweep: one runner at a time, kept alive by heartbeats."""
    __tablename__ = "leases"
    sweep_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))        # host:pid:token
    heartbeat_at: Mapped[float] = mapped_column(Float)      # unix time


class SweepBusy(ConfigError):
    """Another live runner holds the sweep's lease."""


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


def _rows(sweep_id: str, trial_id: str, records: Iterable[tuple[int, str, float]]) -> list[dict[str, object]]:
    return [{"sweep_id": sweep_id, "trial_id": trial_id, "step": step, "name": name,
             "value": None if value is None or not math.isfinite(value) else value} for step, name, value in records]


def sweep_id_of(spec: SweepSpec) -> str:
    """The sweep id: a hash of the canonical spec, so the same spec resumes the same sweep."""
    return hashlib.sha256(spec.canonical_json().encode()).hexdigest()[:12]


class Store:
    """Sweeps, trials and metrics behind one SQLAlchemy engine.

    Args:
        url: a database URL (``sqlite:///path.db``, ``postgresql://...``); default ``sqlite:///paramz.db``.
    """

    def __init__(self, url: str = DEFAULT_URL) -> None:
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine = create_engine(url, future=True)
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy raises several types for a bad URL
            raise ConfigError(f"store: cannot use {url!r} ({exc}); give a database URL such as sqlite:///paramz.db")
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)
        self.url = url

    # --- sweeps -------------------------------------------------------------------------------
    def ensure_sweep(self, spec: SweepSpec, configs: Sequence[TrialConfig]) -> str:
        """Creates the sweep and its pending trials, or keeps the existing ones (resume)."""
        sweep_id = sweep_id_of(spec)
        with Session(self.engine) as s, s.begin():
            if s.get(SweepRow, sweep_id) is None:
                now = _now()
                s.add(SweepRow(id=sweep_id, name=spec.name, spec=spec.canonical_json(), status="pending",
                               n_trials=0, created_at=now, updated_at=now))
        self.add_trials(sweep_id, configs)
        return sweep_id

    def add_trials(self, sweep_id: str, configs: Sequence[TrialConfig]) -> int:
        """Adds pending trials not already in the sweep (an adaptive search grows its sweep); returns how many."""
        with Session(self.engine) as s, s.begin():
            known = set(s.scalars(select(TrialRow.id).where(TrialRow.sweep_id == sweep_id)))
            new = {c.id: c for c in configs if c.id not in known}
            s.add_all(TrialRow(sweep_id=sweep_id, id=c.id, parameterization=c.label, width=c.width, depth=c.depth,
                               lr=c.lr, seed=c.seed, config=json.dumps(asdict(c)), status="pending", attempts=0)
                      for c in new.values())
            s.execute(update(SweepRow).where(SweepRow.id == sweep_id).values(n_trials=len(known) + len(new)))
        return len(new)

    def spec(self, sweep_id: str) -> SweepSpec:
        return parse_spec(json.loads(self._sweep(sweep_id).spec))

    def _sweep(self, sweep_id: str) -> SweepRow:
        with Session(self.engine) as s:
            row = s.get(SweepRow, sweep_id)
            if row is None:
                raise ConfigError(f"sweep id: no sweep {sweep_id!r} in {self.url}; `paramz sweep list` shows them")
            s.expunge(row)
            return row

    def sweep_status(self, sweep_id: str) -> str:
        return self._sweep(sweep_id).status

    def status_or_none(self, sweep_id: str) -> str | None:
        """The sweep's status, or None when there is no such sweep."""
        with Session(self.engine) as s:
            return s.scalar(select(SweepRow.status).where(SweepRow.id == sweep_id))

    def reopen(self, sweep_id: str) -> None:
        """Makes a cancelled or failed sweep runnable again: its cancelled/failed trials go back to pending."""
        with Session(self.engine) as s, s.begin():
            s.execute(update(TrialRow).where(TrialRow.sweep_id == sweep_id, TrialRow.status.in_(("cancelled", "failed")))
                      .values(status="pending", finished_at=None, attempts=0))
            s.execute(update(SweepRow).where(SweepRow.id == sweep_id).values(status="pending", updated_at=_now()))

    def set_sweep_status(self, sweep_id: str, status: str) -> None:
        with Session(self.engine) as s, s.begin():
            s.execute(update(SweepRow).where(SweepRow.id == sweep_id).values(status=status, updated_at=_now()))

    def request_cancel(self, sweep_id: str) -> None:
        """Asks the runner to stop: it kills running trials and marks the rest cancelled."""
        if self.sweep_status(sweep_id) not in ("completed", "cancelled"):
            self.set_sweep_status(sweep_id, "cancelling")

    def cancel(self, sweep_id: str) -> str:
        """Cancels a sweep: through its runner when a live one holds it, here otherwise; returns the status."""
        self.request_cancel(sweep_id)
        if self.sweep_status(sweep_id) == "cancelling" and not self.held(sweep_id):  # nobody polls the flag
            self.cancel_unfinished(sweep_id)
            self.set_sweep_status(sweep_id, "cancelled")
        return self.sweep_status(sweep_id)

    def sweeps(self, offset: int = 0, limit: int | None = None,
               status: Sequence[str] | None = None) -> list[dict[str, object]]:
        """Sweeps, oldest first, as plain dicts (id, name, status, n_trials, created_at, updated_at, counts)."""
        query = select(SweepRow).order_by(SweepRow.created_at, SweepRow.id).offset(offset).limit(limit)
        if status is not None:
            query = query.where(SweepRow.status.in_(list(status)))
        with Session(self.engine) as s:
            rows = s.scalars(query).all()
            return [self._info(r) for r in rows]

    def n_sweeps(self, status: Sequence[str] | None = None) -> int:
        query = select(func.count()).select_from(SweepRow)
        if status is not None:
            query = query.where(SweepRow.status.in_(list(status)))
        with Session(self.engine) as s:
            return int(s.scalar(query))

    def sweep_info(self, sweep_id: str) -> dict[str, object]:
        """One sweep as a plain dict (see `sweeps`)."""
        return self._info(self._sweep(sweep_id))

    def _info(self, row: SweepRow) -> dict[str, object]:
        return {"id": row.id, "name": row.name, "status": row.status, "n_trials": row.n_trials,
                "created_at": row.created_at, "updated_at": row.updated_at, "counts": self.counts(row.id)}

    def counts(self, sweep_id: str) -> dict[str, int]:
        with Session(self.engine) as s:
            rows = s.execute(select(TrialRow.status, func.count()).where(TrialRow.sweep_id == sweep_id)
                             .group_by(TrialRow.status)).all()
        return {status: n for status, n in rows}

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
                try:
                    s.flush()
                except IntegrityError:  # another runner inserted it first
                    raise SweepBusy(f"sweep {sweep_id}: another runner took it a moment ago; "
                                    "`paramz sweep status` shows its progress") from None
                return
            if row.owner != owner and not _owner_dead(row.owner, row.heartbeat_at, stale_after):
                raise SweepBusy(f"sweep {sweep_id}: already being run by {row.owner} (last heartbeat "
                                f"{now - row.heartbeat_at:.0f} s ago); wait for it, or cancel it first")
            taken = s.execute(update(LeaseRow).where(LeaseRow.sweep_id == sweep_id, LeaseRow.owner == row.owner,
                                                     LeaseRow.heartbeat_at == row.heartbeat_at)
                              .values(owner=owner, heartbeat_at=now)).rowcount
            if taken != 1:
                raise SweepBusy(f"sweep {sweep_id}: another runner took it over a moment ago")

    def heartbeat(self, sweep_id: str, owner: str) -> bool:
        """Refreshes the lease; False when ``owner`` no longer holds it."""
        with Session(self.engine) as s, s.begin():
            return s.execute(update(LeaseRow).where(LeaseRow.sweep_id == sweep_id, LeaseRow.owner == owner)
                             .values(heartbeat_at=time.time())).rowcount == 1

    def release(self, sweep_id: str, owner: str) -> None:
        with Session(self.engine) as s, s.begin():
            s.execute(delete(LeaseRow).where(LeaseRow.sweep_id == sweep_id, LeaseRow.owner == owner))

    def held(self, sweep_id: str, stale_after: float = 60.0) -> bool:
        """Whether a live runner holds the sweep's lease."""
        with Session(self.engine) as s:
            row = s.get(LeaseRow, sweep_id)
            return row is not None and not _owner_dead(row.owner, row.heartbeat_at, stale_after)

    def lease(self, sweep_id: str) -> dict[str, object] | None:
        """The current lease (owner, seconds since its heartbeat), or None."""
        with Session(self.engine) as s:
            row = s.get(LeaseRow, sweep_id)
            return None if row is None else {"owner": row.owner, "heartbeat_age": time.time() - row.heartbeat_at}

    # --- trials ------------------------------------------------------------------------------
    def claim_pending(self, sweep_id: str) -> list[TrialConfig]:
        """Resets trials left running by a dead runner and returns every unfinished config."""
        with Session(self.engine) as s, s.begin():
            s.execute(update(TrialRow).where(TrialRow.sweep_id == sweep_id, TrialRow.status == "running")
                      .values(status="pending", worker=None, started_at=None))
            self._clear_live(s, sweep_id)
            rows = s.scalars(select(TrialRow.config).where(TrialRow.sweep_id == sweep_id,
                                                           TrialRow.status == "pending")).all()
        return [TrialConfig(**json.loads(c)) for c in rows]

    def add_live(self, sweep_id: str, trial_id: str, records: Sequence[tuple[int, str, float]]) -> None:
        """Appends metrics a running trial streamed (kept apart until it finishes)."""
        if records:
            with Session(self.engine) as s, s.begin():
                s.execute(LiveMetricRow.__table__.insert(), _rows(sweep_id, trial_id, records))

    def _clear_live(self, s: Session, sweep_id: str, trial_ids: Sequence[str] | None = None) -> None:
        query = delete(LiveMetricRow).where(LiveMetricRow.sweep_id == sweep_id)
        if trial_ids is not None:
            query = query.where(LiveMetricRow.trial_id.in_(list(trial_ids)))
        s.execute(query)

    def mark_running(self, sweep_id: str, trial_id: str, worker: str) -> None:
        with Session(self.engine) as s, s.begin():
            s.execute(update(TrialRow).where(TrialRow.sweep_id == sweep_id, TrialRow.id == trial_id)
                      .values(status="running", worker=worker, started_at=_now(), attempts=TrialRow.attempts + 1))

    def mark_pending(self, sweep_id: str, trial_id: str, error: str) -> None:
        with Session(self.engine) as s, s.begin():
            self._clear_live(s, sweep_id, [trial_id])
            s.execute(update(TrialRow).where(TrialRow.sweep_id == sweep_id, TrialRow.id == trial_id)
                      .values(status="pending", error=error))

    def finish_trial(self, sweep_id: str, trial_id: str, result: TrialResult) -> None:
        """Writes a finished trial: its status and all its metrics, in one transaction."""
        with Session(self.engine) as s, s.begin():
            s.execute(delete(MetricRow).where(MetricRow.sweep_id == sweep_id, MetricRow.trial_id == trial_id))
            self._clear_live(s, sweep_id, [trial_id])
            if result.metrics:
                s.execute(MetricRow.__table__.insert(), _rows(sweep_id, trial_id, result.metrics))
            s.execute(update(TrialRow).where(TrialRow.sweep_id == sweep_id, TrialRow.id == trial_id).values(
                status=result.status, worker=result.worker, diverged_step=result.diverged_step,
                steps_done=result.steps_done, final_train_loss=result.final_train_loss,
                final_eval_loss=result.final_eval_loss, seconds=result.seconds, finished_at=_now(), error=None))

    def fail_trial(self, sweep_id: str, trial_id: str, error: str, status: str = "failed") -> None:
        with Session(self.engine) as s, s.begin():
            self._clear_live(s, sweep_id, [trial_id])
            s.execute(update(TrialRow).where(TrialRow.sweep_id == sweep_id, TrialRow.id == trial_id)
                      .values(status=status, error=error[-4000:], finished_at=_now()))

    def cancel_unfinished(self, sweep_id: str) -> None:
        with Session(self.engine) as s, s.begin():
            self._clear_live(s, sweep_id)
            s.execute(update(TrialRow).where(TrialRow.sweep_id == sweep_id, TrialRow.status.in_(("pending", "running")))
                      .values(status="cancelled", finished_at=_now()))

    # --- reading -----------------------------------------------------------------------------
    def trials_frame(self, sweep_id: str) -> pd.DataFrame:
        """One row per trial (config columns, status, losses, timings) as a pandas DataFrame."""
        self._sweep(sweep_id)
        with Session(self.engine) as s:
            rows = s.scalars(select(TrialRow).where(TrialRow.sweep_id == sweep_id)).all()
            cols = [c.name for c in TrialRow.__table__.columns if c.name != "config"]
            return pd.DataFrame([{c: getattr(r, c) for c in cols} for r in rows], columns=cols)

    def metrics_frame(self, sweep_id: str, trial_ids: Iterable[str] | None = None, live: bool = False) -> pd.DataFrame:
        """Per-step metrics (trial_id, step, name, value) as a pandas DataFrame.

        Args:
            live: also the metrics running trials have streamed so far (column ``live`` True).
        """
        frames = []
        for table, is_live in ((MetricRow, False), (LiveMetricRow, True)) if live else ((MetricRow, False),):
            query = select(table.trial_id, table.step, table.name, table.value).where(table.sweep_id == sweep_id)
            if trial_ids is not None:
                query = query.where(table.trial_id.in_(list(trial_ids)))
            with Session(self.engine) as s:
                frame = pd.DataFrame(s.execute(query).all(), columns=["trial_id", "step", "name", "value"])
            if live:
                frame["live"] = is_live
            frames.append(frame)
        return frames[0] if len(frames) == 1 else pd.concat([f for f in frames if len(f)] or frames[:1],
                                                            ignore_index=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
