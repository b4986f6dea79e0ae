"""The launch page's helpers: example specs, and validation that names the field without launching."""

from __future__ import annotations

import json

import yaml

from tests.service.conftest import TOKEN, body


def test_examples_are_the_shipped_files_and_valid(client):
    data = client.get("/api/v1/specs/examples").json()["data"]
    names = [e["name"] for e in data]
    assert "demo" in names and "resmlp_depth" in names
    demo = next(e for e in data if e["name"] == "demo")
    assert demo["text"].startswith("#") and demo["spec"] == yaml.safe_load(demo["text"])
    assert "SP vs μP" in demo["description"]


def test_a_valid_spec_gets_its_id_and_trial_count_and_nothing_is_launched(client):
    spec = body()
    checks = []
    for text, kind in ((json.dumps(spec), "application/json"), (yaml.safe_dump(spec), "text/plain")):
        r = client.post("/api/v1/specs/validate", content=text, headers={"Content-Type": kind})  # no token needed
        assert r.status_code == 200, r.text
        checks.append(r.json())
        assert checks[-1]["valid"] and checks[-1]["errors"] == []
    assert checks[0] == checks[1]
    assert client.get("/api/v1/sweeps").json()["count"] == 0
    created = client.post("/api/v1/sweeps", json=checks[0]["spec"], headers={"Authorization": f"Bearer {TOKEN}"})
    assert created.json()["id"] == checks[0]["sweep_id"]      # the id POST /sweeps gives
    assert created.json()["n_trials"] == checks[0]["n_trials"]
    r = client.post("/api/v1/specs/validate", content=b"\xff\xfe", headers={"Content-Type": "text/plain"})
    assert r.status_code == 422 and r.json()["detail"].startswith("spec: the body is not UTF-8")


def test_errors_name_the_field_yaml_syntax_and_server_limits(client):
    def check(text):
        r = client.post("/api/v1/specs/validate", content=text, headers={"Content-Type": "text/plain"})
        assert r.status_code == 200
        return r.json()

    bad = check(yaml.safe_dump({**body(), "widths": [64, "wide"], "steps": -1}))
    assert not bad["valid"] and bad["spec"] is None
    assert any(e.startswith("widths.1:") for e in bad["errors"]) and any(e.startswith("steps:") for e in bad["errors"])
    syntax = client.post("/api/v1/specs/validate", content=b"name: [unclosed\nsteps: 3",
                         headers={"Content-Type": "text/plain"})
    assert syntax.status_code == 422 and syntax.json()["detail"].startswith("spec: not valid YAML or JSON (line")
    listed = client.post("/api/v1/specs/validate", content=b"- 1\n- 2", headers={"Content-Type": "text/plain"})
    assert listed.status_code == 422 and listed.json()["detail"].startswith("spec: must be a mapping of fields")
    empty = client.post("/api/v1/specs/validate", content=b" \n", headers={"Content-Type": "text/plain"})
    assert empty.status_code == 422 and "body is empty" in empty.json()["detail"]
    over = check(yaml.safe_dump({**body(), "widths": [64, 1024]}))       # the test server allows width 512
    assert not over["valid"] and "limits.max_width" in " ".join(over["errors"])
    assert client.get("/api/v1/sweeps").json()["count"] == 0


def test_list_filters_by_state_and_name_newest_first(make_client):
    client = make_client(max_active_sweeps=10)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    ids = [client.post("/api/v1/sweeps", json=body(name=name, seeds=[i]), headers=auth).json()["id"]
           for i, name in enumerate(("alpha-one", "beta", "Alpha-two"))]
    client.post(f"/api/v1/sweeps/{ids[1]}/cancel", headers=auth)
    page = client.get("/api/v1/sweeps", params={"q": "ALPHA"}).json()
    assert [s["name"] for s in page["data"]] == ["Alpha-two", "alpha-one"] and page["count"] == 2
    cancelled = client.get("/api/v1/sweeps", params={"status": "cancelled"}).json()
    assert [s["id"] for s in cancelled["data"]] == [ids[1]] and cancelled["count"] == 1
    both = client.get("/api/v1/sweeps", params=[("status", "cancelled"), ("status", "pending")]).json()
    assert both["count"] == 3
    assert client.get("/api/v1/sweeps", params={"q": ids[2][:6]}).json()["data"][0]["id"] == ids[2]
    assert client.get("/api/v1/sweeps", params={"q": "%"}).json()["count"] == 0   # no wildcard
    assert client.get("/api/v1/sweeps", params={"status": "exploded"}).status_code == 422
