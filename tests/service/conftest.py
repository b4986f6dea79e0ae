"""A TestClient per test on a fresh SQLite store, with small server limits and a token."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from sweeps.settings import Settings
from sweeps.spec import parse_spec
from tests.sweeps.conftest import small_spec

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def settings(tmp_path):
    return Settings(store=f"sqlite:///{tmp_path}/api.db", executor="local", run_sweeps=False, token=TOKEN,
                    max_trials=64, max_steps=1000, max_width=512, max_depth=8, max_active_sweeps=2,
                    max_body_bytes=8192, _env_file=None)


@pytest.fixture
def make_client(settings):
    clients = []

    def make(**overrides) -> TestClient:
        client = TestClient(create_app(settings.model_copy(update=overrides)), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client
    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()


def body(**overrides):
    return parse_spec(small_spec(**overrides)).model_dump(mode="json")
