"""The first schema: sweeps, trials, metrics, live metrics and leases, as the first stores wrote them.

A store created before migrations existed has exactly these tables and no ``alembic_version``;
`sweeps.store.migrate.upgrade` stamps it with this revision and goes on from here.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _metric_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sweep_id", sa.String(32), nullable=False),
        sa.Column("trial_id", sa.String(32), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
    )
    op.create_index(f"ix_{name}_trial", name, ["sweep_id", "trial_id"])


def upgrade() -> None:
    op.create_table(
        "sweeps",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("n_trials", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "trials",
        sa.Column("sweep_id", sa.String(32), sa.ForeignKey("sweeps.id"), primary_key=True),
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("parameterization", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("depth", sa.Integer, nullable=False),
        sa.Column("lr", sa.Float, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("diverged_step", sa.Integer, nullable=True),
        sa.Column("steps_done", sa.Integer, nullable=True),
        sa.Column("final_train_loss", sa.Float, nullable=True),
        sa.Column("final_eval_loss", sa.Float, nullable=True),
        sa.Column("seconds", sa.Float, nullable=True),
        sa.Column("started_at", sa.String(40), nullable=True),
        sa.Column("finished_at", sa.String(40), nullable=True),
    )
    op.create_index("ix_trials_status", "trials", ["status"])
    _metric_table("metrics")
    _metric_table("live_metrics")
    op.create_table(
        "leases",
        sa.Column("sweep_id", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("heartbeat_at", sa.Float, nullable=False),
    )
