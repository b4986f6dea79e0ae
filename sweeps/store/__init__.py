"""The durable store: SQLAlchemy models, the `Store` with its contract, and schema migrations (alembic)."""

from __future__ import annotations

from sweeps.store.store import LeaseInfo, Store, SweepBusy, SweepInfo, SweepNotFound, new_owner

__all__ = ["LeaseInfo", "Store", "SweepBusy", "SweepInfo", "SweepNotFound", "new_owner"]
