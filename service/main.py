"""Assembles the app: settings, store, runner, error handlers, limits, routes, dashboards."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

import plotly
import torch
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from service import errors
from service.limits import BodyLimit
from service.routes import api_router, health_router
from service.runner import Runner
from service.schemas import Problem
from service.settings import Settings
from sweeps.plugins import load_plugins
from sweeps.store import Store

log = logging.getLogger("paramz.service")
DASHBOARDS = Path(__file__).resolve().parent.parent / "dashboards"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    torch.set_num_threads(1)  # coordinate checks run in this process next to the runner
    load_plugins(settings.plugins, replace=True)  # exactly the allowlist (None: every installed plugin)
    store = Store(settings.store)
    runner = Runner(store, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        if settings.run_sweeps:
            runner.start()
        yield
        runner.stop()

    app = FastAPI(title="paramz", version="0.1.0", lifespan=lifespan,
                  description="Hyperparameter transfer as a service: launch LR sweeps across widths and depths, "
                              "ask for the optimal LR at any scale, look at transfer curves and sharpness.")
    app.state.settings, app.state.store, app.state.runner = settings, store, runner
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
                           allow_headers=["*"])
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(health_router)

    @app.get("/dashboards/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:  # served from the installed plotly package: no CDN
        return FileResponse(PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    has_dashboards = (DASHBOARDS / "index.html").is_file()  # next to the package: a checkout (make install)
    if not has_dashboards:
        log.warning("no dashboards at %s (a non-editable install); serving the API only", DASHBOARDS)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboards/" if has_dashboards else "/docs")

    if has_dashboards:
        app.mount("/dashboards", StaticFiles(directory=DASHBOARDS, html=True), name="dashboards")

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
            app.openapi_schema = schema
        return app.openapi_schema
    app.openapi = openapi
    return app
