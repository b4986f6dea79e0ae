"""Dependencies as ``Annotated`` aliases: settings, store, runner, the bearer token, one sweep."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.runner import Runner
from sweeps.settings import Settings
from sweeps.store import Store, SweepInfo


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _store(request: Request) -> Store:
    return request.app.state.store


def _runner(request: Request) -> Runner:
    return request.app.state.runner


SettingsDep = Annotated[Settings, Depends(_settings)]
StoreDep = Annotated[Store, Depends(_store)]
RunnerDep = Annotated[Runner, Depends(_runner)]
_bearer = HTTPBearer(auto_error=False, description="required on POST and DELETE when PARAMZ_TOKEN is set")


def require_token(settings: SettingsDep,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    """Refuses a mutating call without the configured token (constant-time comparison)."""
    if settings.token is None:
        return
    expected = settings.token.get_secret_value().encode()
    given = credentials.credentials.encode() if credentials is not None else b""
    if not secrets.compare_digest(given, expected):
        raise HTTPException(401, "Authorization: send `Bearer <token>` with the token the server was started with "
                                 "(PARAMZ_TOKEN)", headers={"WWW-Authenticate": "Bearer"})


TokenDep = Depends(require_token)


def _sweep(store: StoreDep, sweep_id: Annotated[str, Path(max_length=64, description="sweep id")]) -> SweepInfo:
    return store.sweep(sweep_id)  # SweepNotFound → 404 (service.errors)


SweepDep = Annotated[SweepInfo, Depends(_sweep)]
