"""Alembic's environment for the store: migrations run on the connection `sweeps.store.migrate` passes in."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
# batch mode: SQLite cannot ALTER most things in place, alembic copies the table instead
context.configure(connection=connection, render_as_batch=True, transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
