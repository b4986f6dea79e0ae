"""Errors as RFC 9457 problem details (``application/problem+json``), never a stack trace.

`HTTPException` is raised only in routes; everything else that escapes is turned into a problem
here: request validation (422, one line per field), `ConfigError` from the library (422, its message
names the field and the fix), and anything unexpected (500, logged server-side, no trace sent).
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from paramz.errors import ConfigError

log = logging.getLogger("paramz.service")
PROBLEM = "application/problem+json"


def problem(status: int, detail: str, errors: list[str] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def problems(*codes: int) -> dict[int | str, dict[str, object]]:
    """The ``responses=`` entry of a route documenting its problem responses."""
    return {code: {"description": HTTPStatus(code).phrase,
                   "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for code in codes}


def _field_line(error: dict) -> str:
    where = ".".join(str(x) for x in error["loc"] if x != "body") or "body"
    msg = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        msg = "required; add it"
    elif error["type"] == "extra_forbidden":
        msg = "unknown field; remove it or check its spelling"
    return f"{where}: {msg}"


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        lines = [_field_line(e) for e in exc.errors()]
        return problem(422, "; ".join(lines), lines)

    @app.exception_handler(ConfigError)
    async def config_error(_: Request, exc: ConfigError) -> JSONResponse:
        return problem(422, str(exc), str(exc).split("; "))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal error; the server log has the details")
