"""A throwaway PostgreSQL cluster for the store's contract tests: initdb into a temporary folder, a
free port, trust auth on 127.0.0.1, fsync off; one database per test. Run as the ``postgres`` user
when the tests run as root (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster() -> Iterator[int]:
    """Starts a cluster in a fresh temporary folder (outside pytest's, which only root may enter);
    yields its port; stops it and removes the folder."""
    initdb, pg_ctl = binary("initdb"), binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        if os.environ.get("CI"):
            pytest.fail("no PostgreSQL server (`make test` installs it with apt on CI)")
        pytest.skip("no PostgreSQL server on this machine: `apt-get install postgresql` to run these tests")
    base = Path(tempfile.mkdtemp(prefix="paramz-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", _free_port()
    subprocess.run([*as_user, initdb, "-D", str(data), "-U", "paramz", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-l", str(base / "log"), "-w", "-o", options, "start"],
                   check=True, capture_output=True)
    try:
        yield port
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def new_database(port: int) -> str:
    """A fresh, empty database on the cluster; its SQLAlchemy URL."""
    from sqlalchemy import create_engine, text

    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(f"postgresql+psycopg://paramz@127.0.0.1:{port}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"postgresql+psycopg://paramz@127.0.0.1:{port}/{name}"
