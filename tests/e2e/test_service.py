"""End to end: a real server on 127.0.0.1 running sweeps on Ray, a headless Chromium on its dashboards,
and a kill -9 of the whole server mid-sweep followed by a restart that resumes it."""

from __future__ import annotations

import json
import os
import time

import pytest

from sweeps.domain import SweepState
from sweeps.store import Store
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, TOKEN
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


def wait_js(page, expression: str, timeout: float = 30.0) -> None:
    """Polls a JavaScript expression (or arrow function) until it is truthy. Playwright's wait_for_function
    compiles its argument with eval, which the pages' Content-Security-Policy forbids, as it should."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.1)


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
        page.on("requestfailed", lambda req: None if "ERR_ABORTED" in (req.failure or "")  # cut by navigating away
                else errors.append(f"request failed: {req.url} {req.failure}"))

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
        axes = page.evaluate("""() => ['curves-sp', 'optimum', 'sharpness-raw-sp', 'sharpness-eos-sp'].map((id) => {
            const l = document.getElementById(id).layout; return [l.xaxis.type, l.yaxis.type, l.xaxis.tickvals]; })""")
        assert axes[0][1] == "log" and axes[2][:2] == ["log", "log"] and axes[3][:2] == ["log", "log"]
        assert axes[1][2] == [6, 7, 8]                                     # log2 axis ticked at the swept widths
        page.screenshot(path=ARTIFACTS / "sweep.png", full_page=True)
        page.check("input[name=loss-axis][value=clipped]")               # the loss-axis toggle
        wait_js(page, "document.getElementById('curves-sp').layout.yaxis.type === 'linear'")
        best_names = sorted(t[1] for t in plot_traces(page)["sharpness-raw-sp"] if t[0] == "sharpness")
        lr = page.eval_on_selector("#sharp-lr", "s => s.options[2].value")   # one LR of the grid for every scale
        page.select_option("#sharp-lr", lr)
        wait_js(page, f"""() => document.getElementById('sharpness-raw-sp').data
            .filter((t) => t.meta === 'sharpness').every((t) => t.name.includes('η=2^{float(lr):.1f}'))""")
        fixed_names = sorted(t[1] for t in plot_traces(page)["sharpness-raw-sp"] if t[0] == "sharpness")
        assert fixed_names != best_names and len(fixed_names) == len(WIDTHS)
        page.select_option("#sharp-op", "raw")
        wait_js(page, "document.getElementById('sharpness-raw-sp').layout.title.text.includes('raw')")
        raw_cv = next(c for c in server.get(f"/api/v1/sweeps/{ids['sp']}/transfer")["consistency"]
                      if c["operator"] == "raw" and c["mode"] == "best-lr")["cv_final"]
        assert f"sp {raw_cv:.2f} at each scale's best LR" in page.inner_text("#sharp-cv")  # beside the plots
        page.screenshot(path=ARTIFACTS / "sweep-clipped-fixed-lr.png", full_page=True)

        page.goto(f"{server.url}/dashboards/trials.html?id={ids['sp']}")   # the trial table
        page.wait_for_selector("body[data-ready]")
        rows = page.locator("#trials tbody tr")
        assert rows.count() == 18
        statuses = page.locator("#trials tbody td[class^=status-]").all_inner_texts()
        assert set(statuses) <= {"completed", "diverged"} and len(statuses) == 18
        page.click("#trials th[data-key=final_eval_loss]")
        losses = [float(x) for x in page.locator("#trials tbody tr td:nth-child(7)").all_inner_texts() if x != "—"]
        assert losses == sorted(losses) and len(losses) >= 12
        page.click("#trials th[data-key=final_eval_loss]")                # again: descending
        losses = [float(x) for x in page.locator("#trials tbody tr td:nth-child(7)").all_inner_texts() if x != "—"]
        assert losses == sorted(losses, reverse=True)
        page.fill("#filter", "diverged")
        assert page.locator("#trials tbody tr").count() == statuses.count("diverged")
        page.fill("#filter", "")
        page.locator("#trials tbody tr").first.click()
        wait_js(page, "(document.getElementById('trial-loss').data || []).some((t) => t.meta === 'train_loss')")
        page.screenshot(path=ARTIFACTS / "trials.png", full_page=True)

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
        shared = page.evaluate("""() => ['curves-e2e-sp: sp', 'curves-e2e-mup: mup'].map((id) => {
            const d = document.getElementById(id);
            return [d.layout.xaxis.range, d.layout.yaxis.range, Object.fromEntries(
                d.data.filter((t) => t.meta === 'curve').map((t) => [t.name, t.line.color]))]; })""")
        assert shared[0][0] == shared[1][0] and shared[0][1] == shared[1][1]   # the same axes in every panel
        assert shared[0][2] == shared[1][2] and len(set(shared[0][2].values())) == len(WIDTHS)  # width → one colour
        page.screenshot(path=ARTIFACTS / "compare.png", full_page=True)

        launch_from_the_page(server, page)

        page.goto(f"{server.url}/dashboards/coordcheck.html?model=mlp&axis=width&params=sp,mup")
        page.wait_for_selector("body[data-ready]", timeout=120_000)
        modules = page.evaluate("""() => ['coord-sp', 'coord-mup'].map((id) =>
            document.getElementById(id).data.filter((t) => t.meta === 'module').length)""")
        assert modules == [4, 4]  # emb, hidden.0, hidden.1, out
        assert "FAIL" in page.evaluate("document.getElementById('coord-sp').layout.title.text")
        assert "pass" in page.evaluate("document.getElementById('coord-mup').layout.title.text")
        ranges, ticks, yticks = page.evaluate("""() => [
            ['coord-sp', 'coord-mup'].map((id) => document.getElementById(id).layout.yaxis.range),
            document.getElementById('coord-sp').layout.xaxis.tickvals,
            document.getElementById('coord-sp').layout.yaxis.ticktext]""")
        assert ranges[0] == ranges[1] and ranges[0][1] - ranges[0][0] >= 1     # shared, at least one decade
        assert ticks == [64, 128, 256, 512, 1024]                             # ticks at the checked widths
        assert "1" in yticks and all(float(t) > 0 for t in yticks)           # 1-2-5 values written out
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


def launch_from_the_page(server, page) -> None:
    """A bad field is shown inline and nothing is launched; a good spec launches, runs and completes; a failed
    trial's error then shows on the sweep page and in the trial table."""
    before = server.get("/api/v1/sweeps")["count"]
    page.goto(f"{server.url}/dashboards/launch.html")
    page.wait_for_selector("body[data-ready]")
    assert "demo" in page.locator("#example option").all_inner_texts()
    good = small_spec(name="e2e-launched", widths=[32, 64], steps=30, sharpness={"probes": 0})
    page.fill("#spec", json.dumps({**good, "steps": -3}))
    page.wait_for_selector("#check li[data-field=steps]")
    assert "greater than or equal to 1" in page.inner_text("#check")
    assert page.is_disabled("#launch") and server.get("/api/v1/sweeps")["count"] == before  # nothing reached the runner
    page.screenshot(path=ARTIFACTS / "launch-invalid.png", full_page=True)
    page.fill("#spec", json.dumps(good))
    page.wait_for_selector("#check.valid")
    page.fill("#token", TOKEN)
    page.click("#launch")
    page.wait_for_url("**/sweep.html?id=*")
    sweep_id = page.url.rsplit("=", 1)[1]
    assert server.wait(sweep_id, lambda d: d["status"] not in ("pending", "running"))["status"] == "completed"
    store = Store(server.store)        # a failed trial, as the engine records one (its path is tested in test_engine)
    trial_id = store.trials_frame(sweep_id)["id"].iloc[0]
    store.fail_trial(sweep_id, trial_id, "RuntimeError: simulated out of memory")
    store.set_status(sweep_id, SweepState.FAILED)     # the end state the engine gives a sweep with a failed trial
    page.goto(f"{server.url}/dashboards/sweep.html?id={sweep_id}")
    page.wait_for_selector("body[data-ready]")
    assert "1 failed" in page.inner_text("#summary")
    assert page.inner_text("#summary").startswith("failed")     # the header says failed, not completed
    assert "simulated out of memory" in page.inner_text("#failed")
    page.screenshot(path=ARTIFACTS / "sweep-failed.png", full_page=True)
    page.click("#summary a.error")
    page.wait_for_selector("body[data-ready]")
    assert page.locator("#trials tbody tr").count() == 1
    assert page.inner_text("#trials tbody td.error") == "RuntimeError: simulated out of memory"

    page.goto(f"{server.url}/dashboards/")              # the list: newest first, filtered by name
    page.wait_for_selector("body[data-ready]")
    assert page.locator("#sweeps tbody tr").first.get_attribute("data-sweep") == sweep_id
    page.fill("#q", "e2e-launched")
    wait_js(page, "document.querySelectorAll('#sweeps tbody tr').length === 1")
    page.screenshot(path=ARTIFACTS / "sweeps-filtered.png", full_page=True)
    page.fill("#token", TOKEN)                           # delete it from the list, behind the token
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"tr[data-sweep='{sweep_id}'] button[data-action=delete]")
    wait_js(page, "document.querySelectorAll('#sweeps tbody tr').length === 0")
    assert server.request("GET", f"/api/v1/sweeps/{sweep_id}", token=None)[0] == 404


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
