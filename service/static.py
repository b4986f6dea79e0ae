"""What the service serves besides the API: the dashboards, plotly.js and the states they share.

Everything comes from this machine: plotly.js from the installed plotly package (no CDN), and
``/dashboards/states.js`` is written from `sweeps.domain`, so the pages colour and poll sweeps by
the same states the store uses.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import plotly
from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from sweeps.domain import SweepState, TrialState

log = logging.getLogger("paramz.service")
DASHBOARDS = Path(__file__).resolve().parent.parent / "dashboards"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def states_js() -> str:
    """The states of `sweeps.domain` as a JavaScript constant (the pages' one source)."""
    states = {
        "sweep": [s.value for s in SweepState],
        "trial": [s.value for s in TrialState],
        "sweepActive": [s.value for s in SweepState if s.is_active()],
        "trialFinished": [s.value for s in TrialState if s.is_finished()],
        "trialResult": [s.value for s in TrialState if s.has_result()],
    }
    return f"// generated from sweeps.domain by the service\n\"use strict\";\nconst STATES = {json.dumps(states)};\n"


def mount(app: FastAPI) -> None:
    """Adds ``/`` (a redirect), ``/dashboards/`` and its vendored scripts to ``app``."""
    has_dashboards = (DASHBOARDS / "index.html").is_file()  # next to the package: a checkout (make install)
    if not has_dashboards:
        log.warning("no dashboards at %s (a non-editable install); serving the API only", DASHBOARDS)

    @app.get("/dashboards/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    @app.get("/dashboards/states.js", include_in_schema=False)
    def states() -> Response:
        return Response(states_js(), media_type="text/javascript")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboards/" if has_dashboards else "/docs")

    if has_dashboards:
        app.mount("/dashboards", StaticFiles(directory=DASHBOARDS, html=True), name="dashboards")
