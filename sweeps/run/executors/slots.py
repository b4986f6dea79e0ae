"""Worker slots shared by the sweeps an executor runs at once, handed out fairly.

Several sweeps may call one executor's ``run`` from their own threads (the service runs up to
``max_active_sweeps`` at once on one worker pool). A free slot goes to the sweep that holds the
fewest slots among those with trials waiting; between equals, to the one that has waited longest
since its last slot. So a small sweep launched behind a big one gets the next free worker, and
from then on the two alternate: neither waits for the other to finish.
"""

from __future__ import annotations

import itertools
import threading


class SlotPool:
    """``n`` worker slots (see the module docstring). Owners are any hashable (a ``run`` call's token)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._free = list(range(n))[::-1]
        self._held: dict[object, int] = {}
        self._turn: dict[object, int] = {}          # lower: waited longer since its last slot
        self._ticket = itertools.count()
        self._cond = threading.Condition()

    def want(self, owner: object) -> None:
        """``owner`` has trials waiting for a slot (idempotent)."""
        with self._cond:
            if owner not in self._turn:
                self._turn[owner] = next(self._ticket)
                self._held.setdefault(owner, 0)

    def satisfied(self, owner: object) -> None:
        """``owner`` has no more trials waiting (it may still hold slots)."""
        with self._cond:
            self._turn.pop(owner, None)
            self._cond.notify_all()

    def try_acquire(self, owner: object) -> int | None:
        """A free slot if it is ``owner``'s turn, else None (registers ``owner`` as wanting)."""
        with self._cond:
            return self._acquire(owner)

    def acquire(self, owner: object, timeout: float | None = None) -> int | None:
        """Blocks until it is ``owner``'s turn and a slot is free; None after ``timeout`` seconds."""
        with self._cond:
            slot = self._acquire(owner)
            if slot is None:
                self._cond.wait_for(lambda: self._next() == owner and bool(self._free), timeout)
                slot = self._acquire(owner)
            return slot

    def release(self, owner: object, slot: int) -> None:
        with self._cond:
            self._free.append(slot)
            self._held[owner] -= 1
            if owner in self._turn:                 # still wanting: behind those who waited meanwhile
                self._turn[owner] = next(self._ticket)
            if not self._held[owner] and owner not in self._turn:
                del self._held[owner]
            self._cond.notify_all()

    def _next(self) -> object | None:
        if not self._turn:
            return None
        return min(self._turn, key=lambda o: (self._held.get(o, 0), self._turn[o]))

    def _acquire(self, owner: object) -> int | None:
        if owner not in self._turn:
            self._turn[owner] = next(self._ticket)
            self._held.setdefault(owner, 0)
        if not self._free or self._next() != owner:
            return None
        slot = self._free.pop()
        self._held[owner] += 1
        self._turn[owner] = next(self._ticket)     # to the back of the line among equals
        return slot

    def held(self, owner: object) -> int:
        with self._cond:
            return self._held.get(owner, 0)
