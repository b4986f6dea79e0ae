"""The rule tables, coordinate checks of the model zoo, and the health check."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool

import paramz
from service.deps import RunnerDep, SettingsDep, StoreDep
from service.errors import problems
from service.schemas import CoordCheckPublic, Health, ParameterizationsPublic

router = APIRouter(tags=["meta"])
health_router = APIRouter(tags=["meta"])

# Sizes of the zoo's coordinate checks: the demo's settings, a few seconds each on one core.
COORD_SIZES = {
    ("mlp", "width"): dict(widths=[64, 128, 256, 512, 1024], depths=[2], steps=5, lr=1e-2),
    ("resmlp", "width"): dict(widths=[64, 128, 256, 512], depths=[2], steps=5, lr=1e-2),
    ("resmlp", "depth"): dict(widths=[128], depths=[2, 4, 8, 16, 32], steps=10, lr=1e-3),
    ("gpt", "width"): dict(widths=[32, 64, 128], depths=[2], steps=5, lr=1e-2, dims={"d_head": 16}),
    ("gpt", "depth"): dict(widths=[64], depths=[2, 4, 8], steps=5, lr=1e-3, dims={"d_head": 16}),
}


@router.get("/parameterizations", response_model=ParameterizationsPublic,
            summary="The rule tables: (width, depth) exponents per role and quantity, per parameterization")
def parameterizations() -> ParameterizationsPublic:
    return ParameterizationsPublic(data=[paramz.get(name).table() for name in paramz.NAMES],
                                   quantities=list(paramz.QUANTITIES), roles=list(paramz.ROLES))


@lru_cache(maxsize=64)
def _coord_check(model: str, parameterization: str, axis: str) -> dict[str, object]:
    sizes: dict[str, Any] = COORD_SIZES[(model, axis)]
    return paramz.coord_check(model, parameterization, seeds=2, **sizes).to_dict()


_COORD_LOCK = threading.Lock()


def coord_check_once(model: str, parameterization: str, axis: str) -> dict[str, object]:
    """`_coord_check` one at a time: concurrent requests for the same check compute it once (the others
    wait, then read the cache), and checks never take more than one core from the sweep's workers."""
    with _COORD_LOCK:
        return _coord_check(model, parameterization, axis)


@router.get("/coord-check", response_model=CoordCheckPublic, responses=problems(422),
            summary="A coordinate check of a zoo model (cached): activation scale vs width or depth, with verdicts")
async def coord_check(model: Annotated[Literal["mlp", "resmlp", "gpt"], Query()],
                      parameterization: Annotated[Literal["sp", "mup", "depth-mup", "completep"], Query()],
                      axis: Annotated[Literal["width", "depth"], Query()] = "width") -> CoordCheckPublic:
    if (model, axis) not in COORD_SIZES:
        raise HTTPException(422, f"axis: {model!r} has no depth axis (no residual blocks); use resmlp or gpt")
    result = await run_in_threadpool(coord_check_once, model, parameterization, axis)
    return CoordCheckPublic(model=model, parameterization=parameterization, axis=axis, passed=result["passed"],
                            result=result)


@health_router.get("/healthz", response_model=Health, summary="Liveness: the store answers")
def healthz(store: StoreDep, runner: RunnerDep, settings: SettingsDep) -> Health:
    store.n_sweeps()
    return Health(status="ok", store=store.url.split("://")[0], runner="running" if settings.run_sweeps else "off",
                  current_sweep=runner.current)
