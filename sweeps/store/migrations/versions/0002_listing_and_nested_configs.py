"""Sweep list columns (model family, task, parameterizations, adaptive) and nested trial configs.

* The sweep list showed the model, task and parameterizations by parsing every sweep's spec (N+1
  work per page); they are now columns, filled here from the stored specs.
* Trial configs are stored nested, in the spec's own shape (``model: {family, dims}``,
  ``task: {name, options}``, ``parameterization: {name, ...}``) instead of flat; their ids do not
  change (`sweeps.spec.trial` hashes the flat layout).

Plain JSON in, plain JSON out: this file must keep working whatever the code's spec models become.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _label(param: dict) -> str:
    options = []
    for key, value in param.items():
        if key == "name" or value is None or value is False:
            continue
        if value is True:
            options.append(key)
        else:
            options.append(f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}")
    return f"{param['name']}({', '.join(options)})" if options else param["name"]


def nested_config(flat: dict) -> dict:
    """A trial config of revision 0001 (flat) in the nested layout."""
    if isinstance(flat.get("model"), dict):  # already nested
        return flat
    out = {k: v for k, v in flat.items() if k not in ("model", "dims", "task", "task_options", "label")}
    out["model"] = {"family": flat["model"], "dims": flat.get("dims", {})}
    out["task"] = {"name": flat["task"], "options": flat.get("task_options", {})}
    return out


def upgrade() -> None:
    with op.batch_alter_table("sweeps") as batch:
        batch.add_column(sa.Column("family", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("task", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("parameterizations", sa.Text, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("adaptive", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index("ix_sweeps_created", "sweeps", ["created_at"])
    conn = op.get_bind()
    sweeps = sa.table("sweeps", sa.column("id", sa.String), sa.column("spec", sa.Text),
                      sa.column("family", sa.String), sa.column("task", sa.String),
                      sa.column("parameterizations", sa.Text), sa.column("adaptive", sa.Boolean))
    for sweep_id, text in conn.execute(sa.select(sweeps.c.id, sweeps.c.spec)).all():
        spec = json.loads(text)
        conn.execute(sweeps.update().where(sweeps.c.id == sweep_id).values(
            family=spec["model"]["family"], task=spec["task"]["name"],
            parameterizations=json.dumps([_label(p) for p in spec["parameterizations"]]),
            adaptive=spec.get("search") is not None))
    trials = sa.table("trials", sa.column("sweep_id", sa.String), sa.column("id", sa.String),
                      sa.column("config", sa.Text))
    for sweep_id, trial_id, text in conn.execute(sa.select(trials.c.sweep_id, trials.c.id, trials.c.config)).all():
        conn.execute(trials.update().where(trials.c.sweep_id == sweep_id, trials.c.id == trial_id)
                     .values(config=json.dumps(nested_config(json.loads(text)))))
