"""Schema versions of the store, with alembic: every `Store` brings its database to the newest one.

The revisions live in ``migrations/versions`` (``0001`` is the schema of the first stores). A
database is upgraded when a `Store` opens it:
  * empty: every revision runs, so new and old stores end with the same schema;
  * written before migrations existed (its tables, no ``alembic_version``): stamped ``0001``, then
    upgraded;
  * at an older revision: the newer revisions run, in one transaction.
Two processes opening one new database at once: one migrates, the other finds it at the head
revision afterwards and goes on.

To add a revision, copy the shape of ``0002``: the next number as ``revision``, the previous one as
``down_revision``, plain SQL/JSON only (no import of the code's models); then change
`sweeps.store.models` to match, and extend the upgrade test.
"""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.exc import DBAPIError

MIGRATIONS = Path(__file__).with_name("migrations")
FIRST = "0001"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def head() -> str:
    """The newest revision."""
    rev = ScriptDirectory.from_config(_config()).get_current_head()
    assert rev is not None, "no migrations"
    return rev


def current(connection: Connection) -> str | None:
    """The database's revision (None: empty, or written before migrations existed)."""
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade_once(engine: Engine) -> None:
    with engine.begin() as connection:
        if current(connection) == head():
            return
        tables = set(inspect(connection).get_table_names())
        config = _config(connection)
        if "sweeps" in tables and "alembic_version" not in tables:
            command.stamp(config, FIRST)
        command.upgrade(config, "head")


def upgrade(engine: Engine, attempts: int = 5) -> str:
    """Brings the database to the newest revision; returns it.

    Raises:
        sqlalchemy.exc.DBAPIError: the migration failed for another reason than a concurrent one.
    """
    for attempt in range(attempts):
        try:
            _upgrade_once(engine)
            return head()
        except DBAPIError:
            with engine.connect() as connection:  # another process migrating at the same moment?
                if current(connection) == head():
                    return head()
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    return head()
