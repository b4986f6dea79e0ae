"""End to end: a real server on 127.0.0.1 running sweeps on Ray, a headless Chromium on its dashboards,
and a kill -9 of the whole server mid-sweep followed by a restart that resumes it."""

from __future__ import annotations

import os
import time

import pytest

from sweeps.store import Store
from tests.e2e.conftest import ARTIFACTS, CHROMIUM
from tests.sweeps.conftest import small_spec

WIDTHS = [64, 128, 256]
PARAMS = ("sp", "mup")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def spec(param: str) -> dict:
    """One parameterization per sweep, so the dashboards' compare page has two sweeps to put side by side."""
    return small_spec(name=f"e2e-{param}", parameterizations=[{"name": param}], base_width=64, widths=WIDTHS,
                      depths=[2], lr={"log2_min": -15, "log2_max": -5, "log2_step": 2}, steps=150, batch_size=32,
                      eval_every=50, task={"name": "teacher", "options": {"d_in": 32, "d_out": 10}},
                      sharpness={"probes": 3, "variants": ["raw", "lr", "adam"], "max_iter": 15})


def test_launch_poll_predict_then_browse_the_dashboards(serve):
    server = serve()
    ids = {}
    for param in PARAMS:
        status, created = server.request("POST", "/api/v1/sweeps", spec(param))
        assert status == 202 and created["n_trials"] == 3 * 6
        ids[param] = created["id"]
    assert server.request("POST", "/api/v1/sweeps", spec("sp"), token="wrong")[0] == 401
    for param, sweep_id in ids.items():
        done = server.wait(sweep_id, lambda d: d["status"] not in ("pending", "running"))
        assert done["status"] == "completed" and sum(done["counts"].values()) == 18
        assert set(done["counts"]) <= {"completed", "diverged"}
        prediction = server.get(f"/api/v1/sweeps/{sweep_id}/optimal-lr?width=1024")["predictions"][param]
        assert prediction["lr_low"] < prediction["lr"] < prediction["lr_high"]
        assert prediction["warnings"]  # 2 doublings out
    browse(server, ids)


def plot_traces(page) -> dict:
    """Every plot on the page: its traces as (meta, name, number of x values)."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.plot')]
        .map((d) => [d.id, (d.data || []).map((t) => [t.meta, t.name, (t.x || []).length])]))""")


def browse(server, ids: dict) -> None:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (`make test` installs it with apt on CI)")
        pytest.skip("no chromium on this machine: `apt-get install chromium` to run the browser half")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    widths = sorted(f"width {w}" for w in WIDTHS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text} {msg.location}")
                if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        page.on("requestfailed", lambda req: errors.append(f"request failed: {req.url}"))

        page.goto(f"{server.url}/dashboards/sweep.html?id={ids['sp']}")
        page.wait_for_selector("body[data-ready]", timeout=60_000)
        traces = plot_traces(page)
        curves = [t for t in traces["curves-sp"] if t[0] == "curve"]
        assert sorted(t[1] for t in curves) == widths, curves
        assert all(n >= 4 for *_, n in curves)  # one point per LR that did not diverge
        assert sum(t[0] == "optimum" for t in traces["curves-sp"]) == len(WIDTHS)
        assert sum(t[0] == "sharpness" for t in traces["sharpness-raw-sp"]) == len(WIDTHS)
        eos = traces["sharpness-eos-sp"]
        assert sum(t[0] == "eos" for t in eos) == len(WIDTHS) and any(t[0] == "threshold" for t in eos)
        assert [t[0] for t in traces["optimum"]] == ["optima", "fit"]
        verdicts = page.inner_text("#verdicts")
        said = server.get(f"/api/v1/sweeps/{ids['sp']}/transfer")["verdict_details"]["sp"]["width"]
        assert f"{said['outcome']} sp width: {said['text']}" in verdicts, verdicts  # the page says what REST says
        assert all(f"would settle it: {step}" in verdicts for step in said["settle"])
        consistency = page.inner_text("#consistency")
        assert consistency.count("each scale's best") == 3 and "adam" in consistency  # raw, lr, adam
        assert page.locator("#live-section").is_hidden()  # nothing runs any more
        page.screenshot(path=ARTIFACTS / "sweep.png", full_page=True)

        page.goto(f"{server.url}/dashboards/")  # the list: check both sweeps, press compare
        page.wait_for_selector("body[data-ready]")
        for sweep_id in ids.values():
            page.check(f"tr[data-sweep='{sweep_id}'] input[name=compare]")
        page.screenshot(path=ARTIFACTS / "sweeps.png", full_page=True)
        page.click("#compare")
        page.wait_for_url("**/compare.html?ids=*")
        page.wait_for_selector("body[data-ready]", timeout=60_000)
        traces = plot_traces(page)
        for param in PARAMS:
            panel = traces[f"curves-e2e-{param}: {param}"]
            assert sorted(t[1] for t in panel if t[0] == "curve") == widths
        assert sorted(t[0] for t in traces["optimum"]) == ["fit", "fit", "optima", "optima"]
        page.screenshot(path=ARTIFACTS / "compare.png", full_page=True)

        page.goto(f"{server.url}/dashboards/coordcheck.html?model=mlp&axis=width&params=sp,mup")
        page.wait_for_selector("body[data-ready]", timeout=120_000)
        modules = page.evaluate("""() => ['coord-sp', 'coord-mup'].map((id) =>
            document.getElementById(id).data.filter((t) => t.meta === 'module').length)""")
        assert modules == [4, 4]  # emb, hidden.0, hidden.1, out
        assert "FAIL" in page.evaluate("document.getElementById('coord-sp').layout.title.text")
        assert "pass" in page.evaluate("document.getElementById('coord-mup').layout.title.text")
        ranges, ticks = page.evaluate("""() => [
            ['coord-sp', 'coord-mup'].map((id) => document.getElementById(id).layout.yaxis.range),
            document.getElementById('coord-sp').layout.xaxis.tickvals]""")
        assert ranges[0] == ranges[1] and ranges[0][1] - ranges[0][0] >= 1     # shared, at least one decade
        assert ticks == [64, 128, 256, 512, 1024]                             # ticks at the checked widths
        page.screenshot(path=ARTIFACTS / "coordcheck.png", full_page=True)

        offline = browser.new_page(viewport={"width": 1400, "height": 1000})   # nothing but this server
        outside: list[str] = []
        offline.route("**/*", lambda route: route.continue_() if route.request.url.startswith(server.url)
                      else (outside.append(route.request.url), route.abort()))
        offline.goto(f"{server.url}/docs")
        offline.wait_for_selector(".opblock", timeout=60_000)
        operations = [op.replace("\u200b", "").strip() for op in  # Swagger breaks paths with zero-width spaces
                      offline.locator(".opblock-summary-path").all_inner_texts()]
        assert "/api/v1/sweeps/{sweep_id}/transfer" in operations and len(operations) >= 10, operations
        assert outside == []
        offline.screenshot(path=ARTIFACTS / "docs.png", full_page=False)
        browser.close()
    assert errors == []


def test_kill_9_mid_sweep_then_restart_resumes_without_losing_or_repeating_a_trial(serve, tmp_path):
    spec = small_spec(name="e2e-kill", widths=[512, 1024], lr={"values": [3e-4, 1e-3]}, steps=1500,
                      seeds=[0, 1], sharpness={"probes": 0})  # 8 trials of ~5-15 s each
    first = serve()
    status, created = first.request("POST", "/api/v1/sweeps", spec)
    assert status == 202 and created["n_trials"] == 8
    sweep_id = created["id"]
    first.wait(sweep_id, lambda d: d["counts"].get("completed", 0) >= 2, timeout=180)
    deadline = time.monotonic() + 30
    while True:  # a running trial streams its metrics every ~2 s through a Ray queue into the store
        running = first.get(f"/api/v1/sweeps/{sweep_id}/trials?status=running")["data"]
        live = [first.get(f"/api/v1/sweeps/{sweep_id}/trials/{t['id']}/metrics") for t in running]
        if any(m["live"] and len(m["series"].get("train_loss", {}).get("steps", [])) >= 2 for m in live):
            break
        assert time.monotonic() < deadline, live
        time.sleep(0.5)
    first.kill()  # kill -9 of the server, its runner thread and its Ray processes
    before = {t["id"]: t for t in trials(Store(first.store), sweep_id)}  # read from the store: the server is dead
    finished = {i: t for i, t in before.items() if t["status"] == "completed"}
    assert 2 <= len(finished) < 8, f"the kill came too late to test anything: {len(finished)} finished"

    second = serve(first.store)
    done = second.wait(sweep_id, lambda d: d["status"] == "completed", timeout=300)
    assert done["counts"] == {"completed": 8}
    assert not any(second.get(f"/api/v1/sweeps/{sweep_id}/trials/{t['id']}/metrics")["live"] for t in running)
    after = {t["id"]: t for t in second.get(f"/api/v1/sweeps/{sweep_id}/trials")["data"]}
    assert set(after) == set(before)
    for trial_id, old in finished.items():  # finished before the kill: kept as they were, not run again
        new = after[trial_id]
        assert (new["finished_at"], new["final_eval_loss"], new["attempts"]) == \
            (old["finished_at"], old["final_eval_loss"], old["attempts"])
    rerun = [t for i, t in after.items() if i not in finished]
    assert all(t["attempts"] >= 1 and t["finished_at"] > max(o["finished_at"] for o in finished.values())
               for t in rerun)


def trials(store, sweep_id: str) -> list[dict]:
    frame = store.trials_frame(sweep_id)
    return frame.astype(object).where(frame.notna(), None).to_dict("records")
