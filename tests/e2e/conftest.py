"""A real `paramz serve` (uvicorn + the Ray runner) in its own process group, and a tiny HTTP client."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.service.conftest import make_client, settings  # noqa: F401 - fixtures for e2e tests too
from tests.sweeps.conftest import ENV

TOKEN = "e2e-token"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("PARAMZ_ARTIFACTS", ROOT / "out" / "e2e"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python -m service.cli serve`` on a free port; ``kill()`` is a kill -9 of its whole process group."""

    def __init__(self, store: str, log: Path, env: dict[str, str] | None = None, executor: str = "ray") -> None:
        self.store, self.log_path = store, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(self.port), "--store", store,
             "--executor", executor, "--workers", "2"],
            cwd=ROOT, env={**ENV, "PARAMZ_TOKEN": TOKEN, **(env or {})}, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            try:
                if self.get("/healthz")["status"] == "ok":
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = TOKEN):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def get(self, path: str):
        status, doc = self.request("GET", path, token=None)
        assert status == 200, (status, doc)
        return doc

    def wait(self, sweep_id: str, until, timeout: float = 240.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            doc = self.get(f"/api/v1/sweeps/{sweep_id}")
            if until(doc):
                return doc
            assert time.monotonic() < deadline, doc
            time.sleep(0.5)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def serve(tmp_path):
    servers = []

    def start(store: str | None = None, env: dict[str, str] | None = None, executor: str = "ray") -> Server:
        server = Server(store or f"sqlite:///{tmp_path}/e2e.db", tmp_path / f"server{len(servers)}.log", env,
                        executor)
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.stop()
