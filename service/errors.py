"""Errors as RFC 9457 problem details (``application/problem+json``), never a stack trace.

`HTTPException` is raised only in routes; everything else that escapes is turned into a problem
here: request validation (422, one line per field, in the same words as the CLI), the library's
errors (`SweepNotFound` 404, `TooManySweeps` 429 with ``Retry-After``, any other `ConfigError` 422:
its message names the field and the fix), and anything unexpected (500, logged server-side, no
trace sent). The OpenAPI schema documents the problem body as ``Problem``.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from paramz.errors import ConfigError
from service.schemas import Problem
from sweeps.application import TooManySweeps
from sweeps.spec import error_lines
from sweeps.store import SweepBusy, SweepNotFound

log = logging.getLogger("paramz.service")
PROBLEM = "application/problem+json"
RETRY_AFTER = "30"


def problem(status: int, detail: str, errors: list[str] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """A problem-details response."""
    body: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status,
                            "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry of a route documenting its problem responses."""
    return {code: {"description": HTTPStatus(code).phrase,
                   "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for code in codes}


def install(app: FastAPI) -> None:
    """Adds the exception handlers and the ``Problem`` schema to ``app``."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        lines = error_lines(exc.errors())
        return problem(422, "; ".join(lines), lines)

    @app.exception_handler(SweepNotFound)
    async def not_found(_: Request, exc: SweepNotFound) -> JSONResponse:
        return problem(404, str(exc).replace("`paramz sweep list` shows them", "GET /api/v1/sweeps lists them"))

    @app.exception_handler(TooManySweeps)
    async def too_many(_: Request, exc: TooManySweeps) -> JSONResponse:
        return problem(429, f"{exc} (POST /api/v1/sweeps/ID/cancel one)", headers={"Retry-After": RETRY_AFTER})

    @app.exception_handler(SweepBusy)
    async def busy(_: Request, exc: SweepBusy) -> JSONResponse:
        return problem(409, str(exc))

    @app.exception_handler(ConfigError)
    async def config_error(_: Request, exc: ConfigError) -> JSONResponse:
        return problem(422, str(exc), str(exc).split("; "))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal error; the server log has the details")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
