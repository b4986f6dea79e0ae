"""A revision counter per sweep, bumped by every transaction that changes the sweep or its trials.

Readers (the service's HTTP cache, ETags) tell in one primary-key lookup whether anything they
showed has changed, instead of aggregating the trials table on every request.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sweeps") as batch:
        batch.add_column(sa.Column("revision", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("sweeps") as batch:
        batch.drop_column("revision")
