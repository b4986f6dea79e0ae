"""Reads that do not recompute: GET responses about sweeps, cached under the store's revision, with ETags.

Every transaction that changes a sweep or its trials bumps the sweep's revision (`Store.sweep_revision`),
so a response about one sweep (its status, trials, transfer report, sharpness, optimal LR) is the
same while the revision is. This middleware, inside the `Guard` and outside the routes:

* asks the store for the revision (one primary-key lookup; the sweep list: two small aggregates);
* answers ``304 Not Modified`` when the request's ``If-None-Match`` is the current ETag (browsers
  revalidate this way: the responses say ``Cache-Control: no-cache``, so the dashboards' polling
  costs a lookup and an empty response while nothing changed);
* else serves the body it kept for this path, query and revision, or lets the route compute it and
  keeps the 200 response (an LRU of ``max_entries`` bodies, ``max_bytes`` in all).

A lease's heartbeat enters the key in 15-second buckets: whether a runner is shown alive ages with
it (a runner is called dead after 60 s without one), nothing else does. The live metrics of running
trials change no revision: the sharpness series, which show them, add their count to the key while a
runner holds the sweep (``/trials/{id}/metrics``, a running trial's curves, is not cached at all).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sweeps.store import Store

# GET paths whose responses depend on one sweep's stored state; sharpness also shows the probes running
# trials have streamed (live metrics), so their count enters its key
SWEEP_PATH = re.compile(r"^/api/v1/sweeps/(?P<id>[^/]+)(/(?P<part>trials|transfer|sharpness|optimal-lr))?$")
LIST_PATH = "/api/v1/sweeps"
HEARTBEAT_BUCKET = 15.0


class VersionCache:
    """See the module docstring."""

    def __init__(self, app: ASGIApp, store: Store, max_entries: int = 512, max_bytes: int = 64 * 2**20) -> None:
        self.app, self.store = app, store
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._bodies: OrderedDict[str, tuple[bytes, list[tuple[bytes, bytes]]]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def _version(self, path: str) -> Any:
        if path == LIST_PATH:
            n, total, newest, leases = self.store.list_revision()
            return n, total, newest, tuple((i, o, int(h // HEARTBEAT_BUCKET)) for i, o, h in leases)
        match = SWEEP_PATH.match(path)
        if match is None:
            return None
        found = self.store.sweep_revision(match["id"])
        if found is None:
            return None    # no such sweep: the route says 404
        revision, owner, heartbeat = found
        live = self.store.live_revision(match["id"]) if match["part"] == "sharpness" and owner is not None else None
        return revision, owner, None if heartbeat is None else int(heartbeat // HEARTBEAT_BUCKET), live

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith(LIST_PATH):
            await self.app(scope, receive, send)
            return
        version = await run_in_threadpool(self._version, scope["path"])
        if version is None:
            await self.app(scope, receive, send)
            return
        key = f"{scope['path']}?{scope.get('query_string', b'').decode('latin-1')}#{version!r}"
        etag = b'"' + hashlib.blake2b(key.encode(), digest_size=12).hexdigest().encode() + b'"'
        tags = dict(scope["headers"]).get(b"if-none-match", b"")
        if etag in [t.strip().removeprefix(b"W/") for t in tags.split(b",")]:
            await send({"type": "http.response.start", "status": 304, "headers": _validators(etag)})
            await send({"type": "http.response.body", "body": b""})
            return
        with self._lock:
            kept = self._bodies.get(key)
            if kept is not None:
                self._bodies.move_to_end(key)
        if kept is not None:
            body, headers = kept
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self._compute(scope, receive, send, key, etag)

    async def _compute(self, scope: Scope, receive: Receive, send: Send, key: str, etag: bytes) -> None:
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                if message["status"] == 200:
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in (b"etag",
                                                                                                b"cache-control")]
                    message = {**message, "headers": headers + _validators(etag)}
                    start["headers"] = message["headers"]
            elif message["type"] == "http.response.body" and start.get("status") == 200:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self._keep(key, b"".join(chunks), start["headers"])
            await send(message)

        await self.app(scope, receive, capture)

    def _keep(self, key: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        if len(body) > self.max_bytes // 8:
            return
        with self._lock:
            old = self._bodies.pop(key, None)
            if old is not None:
                self._size -= len(old[0])
            self._bodies[key] = (body, headers)
            self._size += len(body)
            while self._bodies and (len(self._bodies) > self.max_entries or self._size > self.max_bytes):
                _, (dropped, _) = self._bodies.popitem(last=False)
                self._size -= len(dropped)


def _validators(etag: bytes) -> list[tuple[bytes, bytes]]:
    # no-cache: a client may keep the body but must revalidate it (If-None-Match) before each use
    return [(b"etag", etag), (b"cache-control", b"no-cache")]
