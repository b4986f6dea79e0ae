"""Sweeps: launch (202 + id), list, status with progress, cancel, and their trials (JSON or CSV)."""

from __future__ import annotations

import io
import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Response

from service.deps import RunnerDep, SettingsDep, StoreDep, SweepDep, TokenDep
from service.errors import problems
from service.runner import UNFINISHED
from service.schemas import SweepCreated, SweepPublic, SweepsPublic, TrialPublic, TrialsPublic
from sweeps.engine import expand
from sweeps.spec import SweepSpec, parse_spec
from sweeps.store import FINISHED, Store, sweep_id_of

router = APIRouter(prefix="/sweeps", tags=["sweeps"])

EXAMPLE = {
    "name": "mlp-width", "model": {"family": "mlp"}, "task": {"name": "teacher"},
    "parameterizations": [{"name": "sp"}, {"name": "mup"}], "base_width": 64, "widths": [64, 128, 256],
    "lr": {"log2_min": -12, "log2_max": -5}, "steps": 200, "batch_size": 32,
}


def public(store: Store, info: dict[str, Any]) -> SweepPublic:
    """The public view of `Store.sweep_info`, with progress and whether it is an adaptive search."""
    counts = info["counts"]
    done = sum(n for s, n in counts.items() if s in FINISHED)
    n = int(info["n_trials"])
    return SweepPublic(**{k: info[k] for k in ("id", "name", "status", "n_trials", "created_at", "updated_at")},
                       counts=counts, progress=min(done / n, 1.0) if n else 0.0,
                       adaptive=store.spec(info["id"]).search is not None,
                       runner=(store.lease(info["id"]) or {}).get("owner"))


@router.post("", status_code=202, response_model=SweepCreated, dependencies=[TokenDep],
             responses=problems(400, 401, 413, 422, 429),
             summary="Launch a sweep (or resume the same spec: the id is a hash of it)")
def create_sweep(spec: Annotated[SweepSpec, Body(openapi_examples={"mlp": {"summary": "SP vs μP over width",
                                                                             "value": EXAMPLE}})],
                 store: StoreDep, settings: SettingsDep, runner: RunnerDep, response: Response) -> SweepCreated:
    data = spec.model_dump(mode="json")
    server = settings.limits()
    data["limits"] = {k: min(v, server[k]) for k, v in data["limits"].items()}  # a client cannot raise a bound
    spec = parse_spec(data)  # SpecError → 422 naming the bound (service.errors)
    configs = expand(spec)
    sweep_id = sweep_id_of(spec)
    if store.status_or_none(sweep_id) not in UNFINISHED:
        active = store.n_sweeps(status=UNFINISHED)
        if active >= settings.max_active_sweeps:
            raise HTTPException(429, f"max_active_sweeps: {active} sweeps are pending or running, the bound is "
                                     f"{settings.max_active_sweeps}; wait for one or cancel one (DELETE)",
                                headers={"Retry-After": "30"})
    store.ensure_sweep(spec, configs)
    if store.sweep_status(sweep_id) in ("cancelled", "failed"):
        store.reopen(sweep_id)  # launching the same spec again resumes it
    status = store.sweep_status(sweep_id)
    if status != "completed" and settings.run_sweeps:
        runner.submit(sweep_id)
    response.headers["Location"] = f"/api/v1/sweeps/{sweep_id}"
    return SweepCreated(id=sweep_id, status=status, n_trials=store.sweep_info(sweep_id)["n_trials"],
                        location=f"/api/v1/sweeps/{sweep_id}")


@router.get("", response_model=SweepsPublic, responses=problems(422), summary="List sweeps, oldest first")
def list_sweeps(store: StoreDep, settings: SettingsDep, offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> SweepsPublic:
    limit = min(limit, settings.max_page)
    rows = store.sweeps(offset=offset, limit=limit)
    return SweepsPublic(data=[public(store, r) for r in rows], count=store.n_sweeps(), offset=offset, limit=limit)


@router.get("/{sweep_id}", response_model=SweepPublic, responses=problems(404, 422),
            summary="A sweep's status, counts by trial status and progress")
def get_sweep(sweep: SweepDep, store: StoreDep) -> SweepPublic:
    return public(store, sweep)


@router.delete("/{sweep_id}", status_code=202, response_model=SweepPublic, dependencies=[TokenDep],
               responses=problems(401, 404, 422),
               summary="Cancel a sweep: running trials are stopped, the rest marked cancelled")
def cancel_sweep(sweep: SweepDep, store: StoreDep) -> SweepPublic:
    if sweep["status"] in UNFINISHED:
        store.cancel(sweep["id"])
    return public(store, store.sweep_info(sweep["id"]))


@router.get("/{sweep_id}/trials", response_model=TrialsPublic, responses={
    **problems(404, 422), 200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                                "description": "the trials (JSON, or CSV with format=csv)"}},
            summary="The trials of a sweep (JSON, or CSV with format=csv)")
def list_trials(sweep: SweepDep, store: StoreDep, settings: SettingsDep,
                format: Annotated[Literal["json", "csv"], Query()] = "json",
                status: Annotated[Literal["pending", "running", "completed", "diverged", "failed", "cancelled"] | None,
                                  Query()] = None,
                offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
                limit: Annotated[int, Query(ge=1, le=1000)] = 1000) -> Any:
    trials = store.trials_frame(sweep["id"]).sort_values(["parameterization", "width", "depth", "lr", "seed"])
    if status is not None:
        trials = trials[trials["status"] == status]
    if format == "csv":
        buffer = io.StringIO()
        trials.to_csv(buffer, index=False)
        return Response(buffer.getvalue(), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{sweep["id"]}-trials.csv"'})
    limit = min(limit, settings.max_page)
    page = trials.iloc[offset:offset + limit]
    rows = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
            for r in page.astype(object).where(page.notna(), None).to_dict("records")]
    return TrialsPublic(data=[TrialPublic(**r) for r in rows], count=len(trials), offset=offset, limit=limit)
