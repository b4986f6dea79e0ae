"""A sweep's lease held for the length of a run: one runner per sweep, kept alive by a heartbeat thread."""

from __future__ import annotations

import threading
from types import TracebackType

from sweeps.store import Store, new_owner


class Lease:
    """``with Lease(store, sweep_id):`` takes the lease (or raises `SweepBusy`), heartbeats it, releases it.

    Args:
        store: the store holding the lease.
        sweep_id: the sweep.
        every: seconds between heartbeats (a lease is stale after 60 s without one).
    """

    def __init__(self, store: Store, sweep_id: str, every: float = 5.0) -> None:
        self.store, self.sweep_id, self.every = store, sweep_id, every
        self.owner = new_owner()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Lease:
        self.store.acquire(self.sweep_id, self.owner)
        self._thread = threading.Thread(target=self._beat, name=f"lease-{self.sweep_id}", daemon=True)
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            self.store.heartbeat(self.sweep_id, self.owner)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.every + 1)
        self.store.release(self.sweep_id, self.owner)
