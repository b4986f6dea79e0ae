"""Sweeps: launch (202 + id), list, status with progress, cancel, and their trials (JSON or CSV).

Routes parse and serialize; what they do is `sweeps.application`'s, the same as the CLI's.
"""

from __future__ import annotations

import io
import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import JSONResponse

from service.deps import RunnerDep, SettingsDep, StoreDep, SweepDep, TokenDep
from service.errors import problems
from service.schemas import SweepCreated, SweepPublic, SweepsPublic, TrialPublic, TrialsPublic
from sweeps import application
from sweeps.domain import SweepState, TrialState
from sweeps.spec import SweepSpec
from sweeps.store import SweepInfo

router = APIRouter(prefix="/sweeps", tags=["sweeps"])

EXAMPLE = {
    "name": "mlp-width", "model": {"family": "mlp"}, "task": {"name": "teacher"},
    "parameterizations": [{"name": "sp"}, {"name": "mup"}], "base_width": 64, "widths": [64, 128, 256],
    "lr": {"log2_min": -12, "log2_max": -5}, "steps": 200, "batch_size": 32,
}


def public(info: SweepInfo) -> SweepPublic:
    """The public view of a `SweepInfo`."""
    return SweepPublic(id=info.id, name=info.name, status=info.status, n_trials=info.n_trials, counts=info.counts,
                       progress=info.progress, adaptive=info.adaptive, runner=info.runner, family=info.family,
                       task=info.task, parameterizations=list(info.parameterizations), best_loss=info.best_loss,
                       created_at=info.created_at, updated_at=info.updated_at)


@router.post("", status_code=202, response_model=SweepCreated, dependencies=[TokenDep],
             responses=problems(400, 401, 413, 422, 429),
             summary="Launch a sweep (the id is a hash of the spec: the same spec resumes it, and reopens it when "
                     "it was cancelled or failed)")
def create_sweep(spec: Annotated[SweepSpec, Body(openapi_examples={"mlp": {"summary": "SP vs μP over width",
                                                                             "value": EXAMPLE}})],
                 store: StoreDep, settings: SettingsDep, runner: RunnerDep, response: Response) -> SweepCreated:
    launched = application.launch(store, spec, limits=settings.limits(), max_active=settings.max_active_sweeps)
    if launched.runnable and settings.run_sweeps:
        runner.submit(launched.sweep_id)
    location = f"/api/v1/sweeps/{launched.sweep_id}"
    response.headers["Location"] = location
    return SweepCreated(id=launched.sweep_id, status=launched.status, n_trials=launched.n_trials,
                        created=launched.created, reopened=launched.reopened, location=location)


@router.get("", response_model=SweepsPublic, responses=problems(422), summary="List sweeps, newest first")
def list_sweeps(store: StoreDep, settings: SettingsDep, offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                status: Annotated[list[SweepState] | None, Query(description="only these states (repeatable)")] = None,
                q: Annotated[str | None, Query(max_length=200, description="name or id contains (any case)")] = None,
                ) -> SweepsPublic:
    limit = min(limit, settings.max_page)
    return SweepsPublic(data=[public(i) for i in store.sweeps(offset=offset, limit=limit, status=status, search=q)],
                        count=store.n_sweeps(status=status, search=q), offset=offset, limit=limit)


@router.get("/{sweep_id}", response_model=SweepPublic, responses=problems(404, 422),
            summary="A sweep's status, counts by trial status and progress")
def get_sweep(sweep: SweepDep) -> SweepPublic:
    return public(sweep)


@router.post("/{sweep_id}/cancel", status_code=202, response_model=SweepPublic, dependencies=[TokenDep],
             responses=problems(401, 404, 422),
             summary="Cancel a sweep: running trials are stopped, the rest marked cancelled; a finished one is kept")
def cancel_sweep(sweep: SweepDep, store: StoreDep) -> SweepPublic:
    application.cancel(store, sweep.id)
    return public(store.sweep(sweep.id))


@router.delete("/{sweep_id}", status_code=204, response_model=None, dependencies=[TokenDep],
               responses={**problems(401, 404, 422), 202: {"model": SweepPublic, "description": (
                   "deprecated: the sweep was active and has been cancelled, not removed (use POST .../cancel)")}},
               summary="Remove a finished sweep with its trials and metrics (an active one: see 202)")
def delete_sweep(sweep: SweepDep, store: StoreDep) -> Response:
    if sweep.status.is_active():   # what DELETE did before /cancel existed; kept for one release
        application.cancel(store, sweep.id)
        return JSONResponse(public(store.sweep(sweep.id)).model_dump(mode="json"), status_code=202, headers={
            "Deprecation": "true", "Link": f'</api/v1/sweeps/{sweep.id}/cancel>; rel="alternate"'})
    store.delete_sweep(sweep.id)
    return Response(status_code=204)


@router.get("/{sweep_id}/trials", response_model=TrialsPublic, responses={
    **problems(404, 422), 200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                                "description": "the trials (JSON, or CSV with format=csv)"}},
            summary="The trials of a sweep (JSON, or CSV with format=csv)")
def list_trials(sweep: SweepDep, store: StoreDep, settings: SettingsDep,
                format: Annotated[Literal["json", "csv"], Query()] = "json",
                status: Annotated[TrialState | None, Query()] = None,
                offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
                limit: Annotated[int, Query(ge=1, le=1000)] = 1000) -> Any:
    trials = store.trials_frame(sweep.id).sort_values(["parameterization", "width", "depth", "lr", "seed"])
    if status is not None:
        trials = trials[trials["status"] == status.value]
    if format == "csv":
        buffer = io.StringIO()
        trials.to_csv(buffer, index=False)
        return Response(buffer.getvalue(), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{sweep.id}-trials.csv"'})
    limit = min(limit, settings.max_page)
    page = trials.iloc[offset:offset + limit]
    rows = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
            for r in page.astype(object).where(page.notna(), None).to_dict("records")]
    return TrialsPublic(data=[TrialPublic(**r) for r in rows], count=len(trials), offset=offset, limit=limit)
