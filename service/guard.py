"""What every request passes first: the bearer token on a mutating call (before its body is read;
``READ_ONLY_POSTS`` change nothing and need none),
query parameters the operation does not have (422, naming them: a typo such as ``?tolerence=`` is
never silently ignored), ``Allow`` for every method a path has, and the security headers on every
response.

Pure ASGI, outermost: a request without the token never has its body parsed (401, not 422), and no
page of the dashboards can be framed, sniffed or made to load scripts from elsewhere.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import PROBLEM

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# POSTs that change nothing (a spec checked as the launch page's editor is typed in): open like a GET
READ_ONLY_POSTS = {"/api/v1/specs/validate"}
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    # the pages use inline scripts and styles of their own and plotly, all served from here
    (b"content-security-policy", b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
                                 b"'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; "
                                 b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
]


class Guard:
    """See the module docstring. ``token``: the bearer token (None: no auth); ``openapi``: the app's schema
    (its paths say which methods each path has)."""

    def __init__(self, app: ASGIApp, token: str | None, openapi: Callable[[], dict[str, Any]]) -> None:
        self.app, self.token, self.openapi = app, token, openapi
        self._paths: list[tuple[re.Pattern[str], dict[str, set[str]]]] | None = None

    def _operations(self, scope: Scope) -> dict[str, set[str]]:
        """``{METHOD: query parameter names}`` of the API path ``scope`` asks for (empty: not an API path)."""
        if self._paths is None:
            self._paths = []
            for path, ops in self.openapi()["paths"].items():
                pattern = re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$")
                self._paths.append((pattern, {m.upper(): {p["name"] for p in op.get("parameters", [])
                                                          if p.get("in") == "query"} for m, op in ops.items()}))
        out: dict[str, set[str]] = {}
        for pattern, ops in self._paths:
            if pattern.match(scope["path"]):
                out.update(ops)
        return out

    def allowed(self, scope: Scope) -> list[str]:
        """The methods of the API path ``scope`` asks for (with HEAD for GET, and OPTIONS); empty if none."""
        methods = set(self._operations(scope))
        if "GET" in methods:
            methods.add("HEAD")
        return sorted(methods | {"OPTIONS"}) if methods else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if (scope["method"] in MUTATING and scope["path"].startswith("/api/") and self.token is not None
                and scope["path"] not in READ_ONLY_POSTS):
            given = headers.get(b"authorization", b"").removeprefix(b"Bearer ").strip()
            if not secrets.compare_digest(given, self.token.encode()):
                await _problem(send, 401, "Authorization: send `Bearer <token>` with the token the server was "
                                          "started with (PARAMZ_TOKEN)", [(b"www-authenticate", b"Bearer")])
                return
        known = self._operations(scope).get(scope["method"] if scope["method"] != "HEAD" else "GET")
        if known is not None and scope.get("query_string"):
            given = {name for name, _ in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)}
            unknown = sorted(given - known)
            if unknown:
                await _problem(send, 422, f"query: unknown parameter{'s' if len(unknown) > 1 else ''} "
                                          f"{', '.join(map(repr, unknown))}; this operation takes "
                                          f"{', '.join(sorted(known)) or 'none'}", [])
                return
        if scope["method"] == "OPTIONS" and b"access-control-request-method" not in headers:
            allow = self.allowed(scope)
            if allow:
                await send({"type": "http.response.start", "status": 204,
                            "headers": [(b"allow", ", ".join(allow).encode()), *SECURITY_HEADERS]})
                await send({"type": "http.response.body", "body": b""})
                return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow" or
                       message["status"] != 405]
                if message["status"] == 405:
                    out.append((b"allow", ", ".join(self.allowed(scope)).encode()))
                present = {k.lower() for k, _ in out}
                out += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": out}
            await send(message)
        await self.app(scope, receive, secured)


async def _problem(send: Send, status: int, detail: str, extra: list[tuple[bytes, bytes]]) -> None:
    titles = {401: "Unauthorized", 422: "Unprocessable Entity"}
    body = json.dumps({"type": "about:blank", "title": titles.get(status, "Error"), "status": status,
                       "detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode()),
                            *extra, *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})
