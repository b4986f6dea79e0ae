"""Assembles the app: settings, store, runner, error handlers, limits, routes, dashboards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import torch
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from service import errors, static
from service.guard import Guard
from service.httpcache import VersionCache
from service.limits import BodyLimit
from service.routes import api_router, health_router
from service.runner import Runner
from sweeps.settings import Settings
from sweeps.spec import load_plugins
from sweeps.store import Store

DESCRIPTION = ("Hyperparameter transfer as a service: launch LR sweeps across widths and depths, ask for the "
               "optimal LR at any scale, look at transfer curves and sharpness.")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The FastAPI app on ``settings`` (default: from the environment)."""
    settings = settings or Settings()
    torch.set_num_threads(1)  # coordinate checks run in this process next to the runner
    load_plugins(settings.plugins, replace=True)  # exactly the allowlist (None: every installed plugin)
    store = Store(settings.store)
    runner = Runner(store, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.run_sweeps:
            runner.prepare()   # Ray starts here, in the main thread (see Runner.prepare)
            runner.start()
        yield
        runner.stop()

    # /docs and /redoc with their assets served from here (no CDN: they work offline)
    app = FastAPIOffline(title="paramz", version="0.2.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings, app.state.store, app.state.runner = settings, store, runner
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
                           allow_headers=["*"])
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(health_router)
    static.mount(app)
    app.add_middleware(VersionCache, store=store)   # GETs about sweeps: cached under the store's revision
    token = settings.token.get_secret_value() if settings.token is not None else None
    app.add_middleware(Guard, token=token, openapi=app.openapi)   # added last: runs first
    return app
