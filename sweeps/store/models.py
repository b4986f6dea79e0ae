"""The store's tables, as SQLAlchemy ORM models (the schema of the newest migration).

The schema changes only through a migration in ``migrations/versions`` (`sweeps.store.migrate`);
these models describe the schema at the head revision and are what the code reads and writes.
States are stored as their string values (`sweeps.domain`), the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Enum, Float, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sweeps.domain import SweepState, TrialState


def _state(enum: type[SweepState] | type[TrialState]) -> Enum:
    """A state column: its value as VARCHAR(16), no database enum type (portable, migration-free)."""
    return Enum(enum, native_enum=False, create_constraint=False, length=16,
                values_callable=lambda members: [m.value for m in members])


class Base(DeclarativeBase):
    pass


class SweepRow(Base):
    """One sweep: its spec (canonical JSON), state and what the sweep list shows without parsing the spec."""

    __tablename__ = "sweeps"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    spec: Mapped[str] = mapped_column(Text)
    status: Mapped[SweepState] = mapped_column(_state(SweepState))
    n_trials: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[str] = mapped_column(String(40))
    family: Mapped[str] = mapped_column(String(64), default="")          # model family (revision 0002)
    task: Mapped[str] = mapped_column(String(64), default="")            # task name (0002)
    parameterizations: Mapped[str] = mapped_column(Text, default="[]")   # JSON list of labels (0002)
    adaptive: Mapped[bool] = mapped_column(Boolean, default=False)       # an adaptive LR search (0002)
    revision: Mapped[int] = mapped_column(Integer, default=0)            # +1 per change of it or its trials (0003)
    __table_args__ = (Index("ix_sweeps_created", "created_at"),)


class TrialRow(Base):
    """One trial: its point in the grid, its config (JSON), state and final numbers."""

    __tablename__ = "trials"
    sweep_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    parameterization: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    depth: Mapped[int] = mapped_column(Integer)
    lr: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(Integer)
    config: Mapped[str] = mapped_column(Text)
    status: Mapped[TrialState] = mapped_column(_state(TrialState), index=True)
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
