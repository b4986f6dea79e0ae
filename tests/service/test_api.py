"""Every route through TestClient: answers, numbers, auth failures and every refusal."""

from __future__ import annotations

import io
import math
import time

import pandas as pd
import pytest

from sweeps import application
from sweeps.run import LocalExecutor, probe_steps
from sweeps.spec import parse_spec
from sweeps.store import Store, SweepNotFound
from tests.service.conftest import AUTH, body
from tests.sweeps.conftest import Synthetic, run_spec, small_spec, truth

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, *needles: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    doc = response.json()
    assert doc["status"] == status and doc["title"] and "Traceback" not in response.text
    for needle in needles:
        assert needle in doc["detail"], (needle, doc["detail"])
    return doc


def synthetic_sweep(settings) -> str:
    """A finished SP-vs-μP sweep with known optima (η* = −8.3 − drift·log2(N/64)) in the client's store.

    Two seeds that agree exactly: the intervals are the grid floor, so the verdicts are decided."""
    spec = parse_spec(small_spec(parameterizations=[{"name": "sp"}, {"name": "mup"}], base_width=64,
                                 widths=[64, 128, 256], lr={"log2_min": -14, "log2_max": -4}, seeds=[0, 1]))
    return run_spec(spec, Store(settings.store), Synthetic())


def test_health_openapi_and_dashboards_are_served(client):
    assert client.get("/healthz").json() == {"status": "ok", "store": "sqlite", "runner": "off", "current_sweep": None}
    schema = client.get("/openapi.json").json()
    assert {"/api/v1/sweeps", "/api/v1/sweeps/{sweep_id}", "/api/v1/sweeps/{sweep_id}/trials",
            "/api/v1/sweeps/{sweep_id}/transfer", "/api/v1/sweeps/{sweep_id}/optimal-lr",
            "/api/v1/sweeps/{sweep_id}/sharpness", "/api/v1/parameterizations", "/healthz"} <= set(schema["paths"])
    post = schema["paths"]["/api/v1/sweeps"]["post"]
    assert post["requestBody"]["content"]["application/json"]["examples"]["mlp"]["value"]["widths"] == [64, 128, 256]
    assert {"401", "413", "422", "429"} <= set(post["responses"]) and "Problem" in schema["components"]["schemas"]
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    assert client.get("/dashboards/").headers["content-type"].startswith("text/html")
    js = client.get("/dashboards/vendor/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000 and b"plotly" in js.content[:2000].lower()
    assert client.get("/", follow_redirects=False).headers["location"] == "/dashboards/"


def test_mutating_calls_need_the_token(client):
    assert_problem(client.post("/api/v1/sweeps", json=body()), 401, "Bearer")
    wrong = client.post("/api/v1/sweeps", json=body(), headers={"Authorization": "Bearer nope"})
    assert_problem(wrong, 401) and wrong.headers["www-authenticate"] == "Bearer"
    assert_problem(client.delete("/api/v1/sweeps/abc"), 401)
    assert client.get("/api/v1/sweeps").status_code == 200  # reads need no token


def test_no_token_configured_means_open(make_client):
    open_client = make_client(token=None)
    assert open_client.post("/api/v1/sweeps", json=body()).status_code == 202


def test_launch_returns_202_with_the_content_hash_id_and_relaunch_is_idempotent(client):
    response = client.post("/api/v1/sweeps", json=body(), headers=AUTH)
    assert response.status_code == 202
    created = response.json()
    sweep_id = parse_spec(body()).sweep_id  # the spec's own id: the server's limits are checked, not written in
    assert created == {"id": sweep_id, "status": "pending", "n_trials": 4, "created": True, "reopened": False,
                       "location": f"/api/v1/sweeps/{sweep_id}"}
    assert response.headers["location"] == created["location"]
    again = client.post("/api/v1/sweeps", json=body(), headers=AUTH).json()
    assert again["id"] == sweep_id and again["created"] is False
    got = client.get(f"/api/v1/sweeps/{sweep_id}").json()
    assert got["status"] == "pending" and got["counts"] == {"pending": 4} and got["progress"] == 0.0
    listed = client.get("/api/v1/sweeps").json()
    assert listed["count"] == 1 and [s["id"] for s in listed["data"]] == [sweep_id]


@pytest.mark.parametrize("overrides, needles", [
    (dict(widths=[32, 1024]), ["widths: 1024 exceeds limits.max_width 512"]),
    (dict(steps=5000), ["steps: 5000 exceeds limits.max_steps 1000"]),
    (dict(lr={"log2_min": -20, "log2_max": 0, "log2_step": 0.25}),
     ["the grid has 162 trials", "over limits.max_trials"]),
    (dict(widths=[32, 1024], limits={"max_width": 100000}), ["exceeds limits.max_width 512"]),  # cannot raise it
    (dict(model={"family": "cnn"}), ["model.family", "'cnn'", "mlp"]),
    (dict(parameterizations=[{"name": "ntk"}]), ["ntk", "mup", "completep"]),
    (dict(task={"name": "teacher", "options": {"bogus": 1}}), ["task.options", "bogus"]),
    (dict(search={"coarse_step": 0.1}), ["search: coarse_step 0.1 is below step 0.5"]),
    # what once reached a 500: a seed beyond the store's 64-bit integers, a GPT d_head of 0 or of the wrong type
    (dict(seeds=[2**63]), ["seeds.0: Input should be less than or equal to 9223372036854775807"]),
    (dict(seeds=[10**30]), ["seeds.0"]),
    *[(dict(model={"family": "gpt", "dims": {"d_head": bad}}, task={"name": "icl-copy"}, widths=[32], base_width=32,
            depths=[2]), ["model.dims: d_head"]) for bad in (0, False, "16", None, [16])],
    (dict(steps=True), ["steps: Input should be a valid integer"]),
    (dict(task={"name": "teacher", "options": {"d_in": 65536, "eval_size": 65536}}),
     ["a trial is estimated to need", "over limits.max_trial_mb"]),
])
def test_bad_specs_are_refused_with_422_naming_the_field(client, overrides, needles):
    data = {**small_spec(), **overrides}
    assert_problem(client.post("/api/v1/sweeps", json=data, headers=AUTH), 422, *needles)
    assert client.get("/api/v1/sweeps").json()["count"] == 0            # nothing left behind
    assert client.post("/api/v1/sweeps", json=small_spec(), headers=AUTH).status_code == 202  # and no 429 after


def test_schema_level_errors_list_every_field(client):
    doc = assert_problem(client.post("/api/v1/sweeps", json={"name": "x", "colour": 1}, headers=AUTH), 422)
    assert "model: required; add it" in doc["errors"] and "colour: unknown field; remove it or check its spelling" \
        in doc["errors"]
    assert_problem(client.post("/api/v1/sweeps", content=b"{not json", headers={**AUTH, "content-type":
                                                                                   "application/json"}), 422)


def test_bodies_over_the_bound_get_413(client):
    big = {**small_spec(), "name": "x" * 190, "seeds": list(range(2000))}
    assert_problem(client.post("/api/v1/sweeps", json=big, headers=AUTH), 413, "max_body_bytes 8192")

    def chunks():  # no Content-Length: counted as it streams in
        for _ in range(10):
            yield b" " * 1000
    assert_problem(client.post("/api/v1/sweeps", content=chunks(), headers={**AUTH, "content-type":
                                                                             "application/json"}), 413)


def test_active_sweeps_are_bounded(client):
    for seed in (1, 2):
        assert client.post("/api/v1/sweeps", json=body(seeds=[seed]), headers=AUTH).status_code == 202
    refused = client.post("/api/v1/sweeps", json=body(seeds=[3]), headers=AUTH)
    assert_problem(refused, 429, "max_active_sweeps", "bound is 2") and refused.headers["retry-after"] == "30"
    assert client.post("/api/v1/sweeps", json=body(seeds=[1]), headers=AUTH).status_code == 202  # an active one: fine


def test_cancel_and_relaunch(client):
    sweep_id = client.post("/api/v1/sweeps", json=body(), headers=AUTH).json()["id"]
    assert_problem(client.post(f"/api/v1/sweeps/{sweep_id}/cancel"), 401)
    cancelled = client.post(f"/api/v1/sweeps/{sweep_id}/cancel", headers=AUTH)
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["counts"] == {"cancelled": 4}
    relaunched = client.post("/api/v1/sweeps", json=body(), headers=AUTH).json()
    assert relaunched["id"] == sweep_id and relaunched["status"] == "pending"
    assert client.get(f"/api/v1/sweeps/{sweep_id}").json()["counts"] == {"pending": 4}


def test_delete_removes_a_finished_sweep_and_still_cancels_an_active_one_for_a_release(client, settings):
    active = client.post("/api/v1/sweeps", json=body(), headers=AUTH).json()["id"]
    old = client.delete(f"/api/v1/sweeps/{active}", headers=AUTH)          # the old meaning, deprecated
    assert old.status_code == 202 and old.json()["status"] == "cancelled" and old.headers["deprecation"] == "true"
    assert old.headers["link"] == f'</api/v1/sweeps/{active}/cancel>; rel="alternate"'
    done = synthetic_sweep(settings)
    assert client.get(f"/api/v1/sweeps/{done}/trials").json()["count"] == 132
    assert_problem(client.delete(f"/api/v1/sweeps/{done}"), 401)
    gone = client.delete(f"/api/v1/sweeps/{done}", headers=AUTH)
    assert gone.status_code == 204 and gone.content == b""
    for path in ("", "/trials", "/transfer"):
        assert_problem(client.get(f"/api/v1/sweeps/{done}{path}"), 404)
    store = Store(settings.store)
    with pytest.raises(SweepNotFound):
        store.trials_frame(done)
    assert store.metrics_frame(done).empty and store.n_sweeps() == 1
    assert client.delete(f"/api/v1/sweeps/{active}", headers=AUTH).status_code == 204   # cancelled is finished


def test_auth_comes_before_the_body_options_lists_every_method_and_pages_carry_security_headers(client):
    bad_json = client.post("/api/v1/sweeps", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_problem(bad_json, 401, "Authorization") and bad_json.headers["www-authenticate"] == "Bearer"
    options = client.options("/api/v1/sweeps")
    assert options.status_code == 204 and options.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    assert client.options("/api/v1/sweeps/abc").headers["allow"] == "DELETE, GET, HEAD, OPTIONS"
    wrong = client.put("/api/v1/sweeps/abc", headers=AUTH)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "DELETE, GET, HEAD, OPTIONS"
    for path in ("/dashboards/index.html", "/docs", "/api/v1/sweeps", "/healthz"):
        page = client.get(path)
        assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"], path
    docs = client.get("/docs").text
    assert "cdn" not in docs.lower() and "/static-offline-docs/swagger-ui-bundle.js" in docs   # offline
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200


def test_unknown_sweep_is_404_everywhere(client):
    for path in ("", "/trials", "/transfer", "/optimal-lr?width=64", "/sharpness"):
        assert_problem(client.get(f"/api/v1/sweeps/nope{path}"), 404, "no sweep 'nope'")
    assert_problem(client.delete("/api/v1/sweeps/nope", headers=AUTH), 404)


def test_trials_json_pages_and_csv(client, settings):
    sweep_id = synthetic_sweep(settings)
    first = client.get(f"/api/v1/sweeps/{sweep_id}/trials?limit=5").json()
    second = client.get(f"/api/v1/sweeps/{sweep_id}/trials?limit=5&offset=5").json()
    assert first["count"] == 2 * 3 * 11 * 2 and len(first["data"]) == 5
    assert first["data"][0]["id"] != second["data"][0]["id"]
    diverged = client.get(f"/api/v1/sweeps/{sweep_id}/trials?status=diverged").json()["data"]
    assert diverged and all(t["final_eval_loss"] is None and t["diverged_step"] is not None for t in diverged)
    csv = client.get(f"/api/v1/sweeps/{sweep_id}/trials?format=csv")
    assert csv.headers["content-type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(csv.text))
    assert len(frame) == 132 and set(frame.status) == {"completed", "diverged"}
    assert_problem(client.get(f"/api/v1/sweeps/{sweep_id}/trials?format=xml"), 422, "format")
    assert_problem(client.get(f"/api/v1/sweeps/{sweep_id}/trials?limit=0"), 422, "limit")


def test_transfer_reports_curves_optima_fit_and_verdict(client, settings):
    sweep_id = synthetic_sweep(settings)
    doc = client.get(f"/api/v1/sweeps/{sweep_id}/transfer").json()
    assert len(doc["curves"]) == 6 and all(len(c["points"]) == 11 for c in doc["curves"])
    sp64 = next(c for c in doc["curves"] if c["parameterization"] == "sp" and c["width"] == 64)
    assert [p["diverged"] for p in sp64["points"]] == [x > -8.3 + 3 for x in range(-14, -3)]
    assert all(p["loss"] is None for p in sp64["points"] if p["diverged"])
    for o in doc["optima"]:
        assert o["log2_lr"] == pytest.approx(truth(o["parameterization"], o["width"]), abs=1e-6)
        assert o["method"] == "seeds" and o["log2_low"] < o["log2_lr"] < o["log2_high"]
        assert (o["low"], o["high"]) == (o["log2_low"], o["log2_high"])            # the deprecated names agree
    assert doc["fits"]["sp"]["a"] == pytest.approx(-1.0, abs=1e-6) and abs(doc["fits"]["mup"]["a"]) < 1e-6
    assert doc["tolerance"] == pytest.approx(1 / 3) and doc["no_law"] == {}
    assert doc["verdicts"]["mup"]["width"].startswith("transfers (+0.00 octaves per doubling of width")
    assert doc["verdicts"]["sp"]["width"].startswith("drifts (-1.00 octaves per doubling of width")
    sp = doc["verdict_details"]["sp"]["width"]
    assert sp["outcome"] == "drifts" and sp["high"] < -1 / 3 and sp["slope"] == pytest.approx(-1.0)
    assert doc["consistency"] == []                               # the synthetic executor probes nothing
    loose = client.get(f"/api/v1/sweeps/{sweep_id}/transfer?tolerance=1.5").json()
    assert loose["tolerance"] == 1.5 and loose["verdict_details"]["sp"]["width"]["outcome"] == "transfers"
    spec = parse_spec(small_spec(parameterizations=[{"name": "sp"}], base_width=64, widths=[64, 128, 256],
                                 lr={"log2_min": -14, "log2_max": -4}, seeds=[0, 1], analysis={"tolerance": 1.5}))
    own = run_spec(spec, Store(settings.store), Synthetic())          # the spec's tolerance is the default
    assert client.get(f"/api/v1/sweeps/{own}/transfer").json()["verdicts"]["sp"]["width"].startswith("transfers")
    assert_problem(client.get(f"/api/v1/sweeps/{sweep_id}/transfer?tolerance=0"), 422, "tolerance")


def test_optimal_lr_predicts_with_interval_provenance_and_extrapolation_warning(client, settings):
    sweep_id = synthetic_sweep(settings)
    inside = client.get(f"/api/v1/sweeps/{sweep_id}/optimal-lr?width=128").json()
    assert inside["depth"] == 1 and inside["predictions"]["sp"]["log2_lr"] == pytest.approx(-9.3, abs=1e-6)
    assert inside["predictions"]["sp"]["warnings"] == []
    far = client.get(f"/api/v1/sweeps/{sweep_id}/optimal-lr?width=4096&parameterization=sp").json()
    sp = far["predictions"]["sp"]
    assert set(far["predictions"]) == {"sp"} and sp["log2_lr"] == pytest.approx(-8.3 - 6, abs=1e-6)
    assert sp["lr_low"] <= sp["lr"] <= sp["lr_high"] and math.isclose(sp["lr"], 2 ** sp["log2_lr"])
    assert "extrapolating 4.0 doublings of width" in sp["warnings"][0]
    assert [(o["width"], o["depth"]) for o in sp["optima"]] == [(64, 1), (128, 1), (256, 1)]
    assert sp["fit"]["used"] == [[64, 1], [128, 1], [256, 1]]
    assert_problem(client.get(f"/api/v1/sweeps/{sweep_id}/optimal-lr?width=64&parameterization=ntk"), 422,
                   "'ntk' is not in this sweep", "sp, mup")
    assert_problem(client.get(f"/api/v1/sweeps/{sweep_id}/optimal-lr"), 422, "width")
    assert_problem(client.get(f"/api/v1/sweeps/{sweep_id}/optimal-lr?width=-3"), 422, "width")


def test_optimal_lr_without_a_fit_is_409_with_the_reason(client):
    sweep_id = client.post("/api/v1/sweeps", json=body(), headers=AUTH).json()["id"]
    assert_problem(client.get(f"/api/v1/sweeps/{sweep_id}/optimal-lr?width=64"), 409,
                   "no prediction (sweep status 'pending'): mup: no law: no scale has a finished trial")


def test_optima_all_at_the_grid_edge_answer_with_the_reason(client, settings):
    spec = parse_spec(small_spec(parameterizations=[{"name": "sp"}, {"name": "mup"}], base_width=64,
                                 widths=[64, 128], lr={"log2_min": -6, "log2_max": -4}))   # η* lies below the grid
    sweep_id = run_spec(spec, Store(settings.store), Synthetic())
    doc = client.get(f"/api/v1/sweeps/{sweep_id}/transfer").json()
    assert doc["fits"] == {} and set(doc["no_law"]) == {"sp", "mup"}
    assert "0 of 2 scales usable" in doc["no_law"]["mup"] and "the grid's lowest (2^-6)" in doc["no_law"]["mup"]
    assert all(o["log2_low"] is None and o["log2_high"] == -5 and o["method"] == "edge" for o in doc["optima"])
    verdict = doc["verdict_details"]["mup"]["width"]
    assert verdict["outcome"] == "inconclusive" and verdict["slope"] is None and "no law" in verdict["text"]
    assert_problem(client.get(f"/api/v1/sweeps/{sweep_id}/optimal-lr?width=512"), 409,
                   "mup: no law: a law needs usable optima at 2 or more scales; 0 of 2 scales usable",
                   "η* may lie below it; widen the grid")


def test_sharpness_series_from_a_real_sweep(client, settings):
    spec = parse_spec(small_spec(sharpness={"probes": 3, "variants": ["raw", "lr", "adam"], "max_iter": 10}))
    sweep_id = run_spec(spec, Store(settings.store), LocalExecutor())
    doc = client.get(f"/api/v1/sweeps/{sweep_id}/sharpness").json()
    assert len(doc["series"]) == 4
    for s in doc["series"]:
        assert s["steps"] == probe_steps(40, 3) and len(s["steps"]) == 3 and all(v > 0 for v in s["sharpness"]["raw"])
        assert s["sharpness"]["adam"][0] is None and s["sharpness"]["adam"][1] > 0  # no Adam state at step 0
        # the EoS ratio of the LR-scaled operator is η·λ/2
        assert s["eos"]["lr"][1] == pytest.approx(s["lr"] * s["sharpness"]["lr"][1] / 2, rel=1e-6)
    one = client.get(f"/api/v1/sweeps/{sweep_id}/sharpness?width=64&limit=1").json()["series"]
    assert len(one) == 1 and one[0]["width"] == 64


def test_parameterizations_are_the_rule_table(client):
    doc = client.get("/api/v1/parameterizations").json()
    rows = {p["name"]: p for p in doc["data"]}
    assert list(rows) == ["sp", "mup", "depth-mup", "completep"] and "adam_lr" in doc["quantities"]
    assert rows["mup"]["roles"]["hidden"]["adam_lr"] == {"width": -1.0, "depth": 0.0}
    assert rows["sp"]["roles"]["hidden"]["adam_lr"] == {"width": 0.0, "depth": 0.0}
    assert rows["completep"]["residual_branch"] == {"width": 0.0, "depth": -1.0}
    assert rows["depth-mup"]["residual_branch"] == {"width": 0.0, "depth": -0.5}


def test_coord_check_verdicts(client):
    mup = client.get("/api/v1/coord-check?model=mlp&parameterization=mup").json()
    sp = client.get("/api/v1/coord-check?model=mlp&parameterization=sp").json()
    assert mup["passed"] and not sp["passed"] and {r["width"] for r in mup["result"]["records"]} == {64, 128, 256,
                                                                                                     512, 1024}
    assert_problem(client.get("/api/v1/coord-check?model=mlp&parameterization=mup&axis=depth"), 422,
                   "no depth axis")
    assert_problem(client.get("/api/v1/coord-check?model=cnn&parameterization=mup"), 422, "model")


def test_an_unexpected_error_is_a_500_problem_without_a_trace(client, monkeypatch):
    monkeypatch.setattr(Store, "n_sweeps", lambda *a, **k: 1 / 0)
    assert_problem(client.get("/healthz"), 500, "internal error")


def test_the_runner_executes_launched_sweeps_and_cancel_stops_one(make_client):
    client = make_client(run_sweeps=True)
    sweep_id = client.post("/api/v1/sweeps", json=body(), headers=AUTH).json()["id"]
    long_id = client.post("/api/v1/sweeps", json=body(steps=1000, widths=[256], seeds=[5, 6, 7, 8]),
                          headers=AUTH).json()["id"]
    deadline = time.monotonic() + 120
    while client.get(f"/api/v1/sweeps/{sweep_id}").json()["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    done = client.get(f"/api/v1/sweeps/{sweep_id}").json()
    assert done["counts"] == {"completed": 4} and done["progress"] == 1.0
    # the two ran side by side (max_active_sweeps); the long one is still running
    assert client.get(f"/api/v1/sweeps/{long_id}").json()["status"] == "running"
    assert client.get("/healthz").json()["current_sweep"] == long_id
    start = time.monotonic()
    client.delete(f"/api/v1/sweeps/{long_id}", headers=AUTH)
    while client.get(f"/api/v1/sweeps/{long_id}").json()["status"] != "cancelled":
        assert time.monotonic() - start < 30
        time.sleep(0.2)
    assert set(client.get(f"/api/v1/sweeps/{long_id}").json()["counts"]) <= {"completed", "cancelled"}


def test_trial_metrics_finished_and_live(client, settings):
    store = Store(settings.store)
    sweep_id = run_spec(parse_spec(small_spec()), store, LocalExecutor())
    trial = store.trials_frame(sweep_id).iloc[0]
    doc = client.get(f"/api/v1/sweeps/{sweep_id}/trials/{trial.id}/metrics").json()
    assert doc["live"] is False and doc["status"] == "completed"
    assert doc["series"]["train_loss"]["steps"] == list(range(0, 40, 5))
    assert doc["series"]["eval_loss"]["values"][-1] == pytest.approx(trial.final_eval_loss)
    running_spec = parse_spec(small_spec(seeds=[7]))
    running_id = application.launch(store, running_spec).sweep_id
    first = store.trials_frame(running_id).iloc[0]
    store.mark_running(running_id, first.id, "w")
    store.add_live(running_id, first.id, [(0, "train_loss", 2.5), (5, "train_loss", 2.25), (5, "sharpness/raw", 1.5)])
    live = client.get(f"/api/v1/sweeps/{running_id}/trials/{first.id}/metrics").json()
    assert live["live"] is True and live["series"]["train_loss"] == {"steps": [0, 5], "values": [2.5, 2.25]}
    series = client.get(f"/api/v1/sweeps/{running_id}/sharpness").json()["series"]
    assert [(s["live"], s["steps"], s["sharpness"]["raw"]) for s in series] == [(True, [5], [1.5])]
    assert_problem(client.get(f"/api/v1/sweeps/{sweep_id}/trials/nope/metrics"), 404, "no trial 'nope'")


def test_a_sweep_held_by_another_runner_waits_for_it(make_client, settings):
    import os
    import socket
    client = make_client(run_sweeps=True)
    client.app.state.runner.retry_after = 0.3
    store = Store(settings.store)
    sweep_id = application.launch(store, parse_spec(body())).sweep_id
    cli_run = f"{socket.gethostname()}:{os.getpid()}:cli"
    store.acquire(sweep_id, cli_run)                                   # a CLI run holds it
    assert client.post("/api/v1/sweeps", json=body(), headers=AUTH).json()["id"] == sweep_id
    time.sleep(1.5)
    held = client.get(f"/api/v1/sweeps/{sweep_id}").json()
    assert held["status"] == "pending" and held["runner"] == cli_run and held["counts"] == {"pending": 4}
    store.release(sweep_id, cli_run)                                   # the CLI run went away
    deadline = time.monotonic() + 60
    while client.get(f"/api/v1/sweeps/{sweep_id}").json()["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert client.get(f"/api/v1/sweeps/{sweep_id}").json()["runner"] is None


def test_the_plugin_allowlist_is_exact(make_client, monkeypatch):
    from importlib.metadata import EntryPoint

    import paramz.plugins
    from sweeps.spec.tasks import TASKS
    saved = dict(TASKS)
    monkeypatch.setattr(paramz.plugins, "entry_points", lambda group: [
        EntryPoint("parity", "tests.sweeps.toy_plugin:ParityTask", "paramz.tasks")] if group == "paramz.tasks" else [])
    try:
        spec = small_spec(task={"name": "parity", "options": {"d_in": 4}})
        allowed = make_client(plugins=["parity"], token=None)
        assert allowed.post("/api/v1/sweeps", json=spec).status_code == 202
        closed = make_client(plugins=[], token=None)                    # a later app with an empty allowlist
        assert_problem(closed.post("/api/v1/sweeps", json={**spec, "seeds": [1]}), 422, "unknown task 'parity'")
    finally:
        TASKS.clear()
        TASKS.update(saved)


def test_without_the_dashboards_folder_the_api_still_serves(make_client, monkeypatch, tmp_path):
    import service.static
    monkeypatch.setattr(service.static, "DASHBOARDS", tmp_path / "missing")
    client = make_client()
    assert client.get("/", follow_redirects=False).headers["location"] == "/docs"
    assert client.get("/dashboards/").status_code == 404 and client.get("/healthz").status_code == 200


def test_concurrent_coord_checks_are_computed_once_and_one_at_a_time(monkeypatch):
    import threading
    import time

    import service.routes.meta as meta
    running, calls, peak = [0], [], [0]

    def slow(model, parameterization, **kwargs):
        calls.append((model, parameterization))
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        time.sleep(0.2)
        running[0] -= 1

        class Result:
            def to_dict(self):
                return {"passed": True}
        return Result()
    monkeypatch.setattr(meta.paramz, "coord_check", slow)
    meta._coord_check.cache_clear()
    threads = [threading.Thread(target=meta.coord_check_once, args=("mlp", p, "width"))
               for p in ("sp", "sp", "sp", "mup", "mup")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    meta._coord_check.cache_clear()
    assert sorted(calls) == [("mlp", "mup"), ("mlp", "sp")] and peak[0] == 1
