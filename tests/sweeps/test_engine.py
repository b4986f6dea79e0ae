"""The engine with the in-process executor: results, divergence, resume, cancel, exports."""

from __future__ import annotations

import json
import math
import threading
import time

import pandas as pd
import pytest
from sqlalchemy import text

from sweeps import application
from sweeps.cli import main
from sweeps.run import LocalExecutor
from sweeps.run.trial import PHASES, PhaseClock
from sweeps.store import Store
from tests.sweeps.conftest import run_spec


def test_sweep_records_every_trial_with_metrics_and_divergence_is_data(store_url, make_spec):
    store = Store(store_url())
    spec = make_spec(lr={"values": [1e-3, 1e-2, 1e4]})  # 1e4: absurd
    sweep_id = run_spec(spec, store, LocalExecutor())
    trials = store.trials_frame(sweep_id)
    assert store.status(sweep_id) == "completed" and len(trials) == 6
    bad = trials[trials.lr == 1e4]
    assert set(bad.status) == {"diverged"} and bad.diverged_step.notna().all() and bad.final_eval_loss.isna().all()
    good = trials[trials.lr != 1e4]
    assert set(good.status) == {"completed"} and (good.steps_done == 40).all()
    assert good.final_eval_loss.between(0, 10).all()
    metrics = store.metrics_frame(sweep_id, good.id)
    per_trial = metrics.groupby("trial_id").name.value_counts().unstack()
    assert (per_trial["train_loss"] == 8).all()           # steps 0, 5, ..., 35
    assert (per_trial["eval_loss"] == 2).all()            # step 20 and the end
    assert (per_trial["sharpness/raw"] == 2).all()        # probes at steps 0 and 40
    sharp = metrics[metrics.name == "sharpness/raw"].value
    assert (sharp > 0).all() and sharp.map(math.isfinite).all()


def test_rerun_of_the_same_spec_resumes_and_runs_nothing_twice(store_url, make_spec):
    store = Store(store_url())
    spec = make_spec()
    first = run_spec(spec, store, LocalExecutor())
    before = store.trials_frame(first).set_index("id")[["finished_at", "attempts"]]
    # simulate a runner killed mid-trial: one trial left "running", one "pending", with no metrics
    ids = list(before.index)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE trials SET status='running', finished_at=NULL WHERE id=:id"), {"id": ids[0]})
        conn.execute(text("UPDATE trials SET status='pending', finished_at=NULL WHERE id=:id"), {"id": ids[1]})
        conn.execute(text("DELETE FROM metrics WHERE trial_id IN (:a, :b)"), {"a": ids[0], "b": ids[1]})
        conn.execute(text("UPDATE sweeps SET status='running'"))
    second = run_spec(spec, store, LocalExecutor())
    after = store.trials_frame(second).set_index("id")
    assert second == first and store.status(first) == "completed"
    assert (after.status == "completed").all()
    assert after.loc[ids[2:], "finished_at"].equals(before.loc[ids[2:], "finished_at"])  # not run again
    assert (after.loc[ids[:2], "attempts"] == 2).all() and (after.loc[ids[2:], "attempts"] == 1).all()


def test_cancel_stops_the_sweep_and_keeps_finished_trials(store_url, make_spec):
    store = Store(store_url())
    spec = make_spec(seeds=[0, 1, 2, 3], steps=400)   # 16 trials long enough that the cancel (polled every 0.5 s) lands
    done = threading.Event()
    seen = {"completed": 0}

    def progress(counts):
        seen["completed"] = counts.get("completed", 0)
        if seen["completed"] >= 2 and not done.is_set():
            done.set()
            store.request_cancel(sweep_id)

    sweep_id = application.launch(store, spec).sweep_id
    run_spec(spec, store, LocalExecutor(), progress=progress)
    counts = store.counts(sweep_id)
    assert store.status(sweep_id) == "cancelled"
    assert counts["completed"] >= 2 and counts["cancelled"] >= 1 and sum(counts.values()) == 16


def test_cli_local_run_report_list_status_export(tmp_path, spec_file, capsys):
    class Proc:  # the CLI in-process: same code path as the console script, no torch import per call
        def __init__(self, *args):
            self.returncode = main([str(a) for a in args])
            captured = capsys.readouterr()
            self.stdout, self.stderr = captured.out, captured.err

    cli = Proc
    url = f"sqlite:///{tmp_path}/cli.db"
    run = cli("sweep", "run", spec_file(lr={"values": [1e-3, 1e4]}), "--executor", "local", "--store", url, "--json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["status"] == "completed" and doc["counts"] == {"completed": 2, "diverged": 2}
    report = json.loads(cli("sweep", "report", doc["id"], "--store", url, "--json").stdout)
    assert len(report["curves"]) == 2
    assert all([(p["lr"], p["diverged"], p["loss"] is None) for p in c["points"]] == [(1e-3, False, False),
                                                                                      (1e4, True, True)]
               for c in report["curves"])
    # every optimum sits at the grid edge (the only finite LR), so no law is fitted from them
    assert [o["flags"][:1] for o in report["optima"]] == [["edge"], ["edge"]] and report["fits"] == {}
    assert report["no_law"]["mup"].startswith("a law needs usable optima at 2 or more scales; 0 of")
    assert report["tolerance"] == pytest.approx(1 / 3) and all(o["log2_low"] is None for o in report["optima"])
    text = cli("sweep", "report", doc["id"], "--store", url)
    assert text.returncode == 0 and "mup: no law: a law needs usable optima" in " ".join(text.stderr.split())
    assert cli("sweep", "report", doc["id"], "--store", url, "--predict", "width=big").returncode == 2
    with pytest.raises(SystemExit) as bad:   # argparse exits (the console script's exit code)
        cli("sweep", "report", doc["id"], "--store", url, "--tolerance", "-1")
    said = capsys.readouterr().err
    assert bad.value.code == 2 and "argument --tolerance: must be a finite number > 0, got '-1'" in said
    listing = json.loads(cli("sweep", "list", "--store", url, "--json").stdout)
    assert [s["id"] for s in listing["sweeps"]] == [doc["id"]]
    status = json.loads(cli("sweep", "status", doc["id"], "--store", url, "--json").stdout)
    assert status["counts"] == doc["counts"] and status["runner"] is None  # the run released its lease
    for fmt in ("csv", "parquet"):
        out = tmp_path / f"trials.{fmt}"
        assert cli("sweep", "export", doc["id"], "--store", url, "--format", fmt, "--out", out).returncode == 0
        frame = pd.read_csv(out) if fmt == "csv" else pd.read_parquet(out)
        metrics = tmp_path / f"trials.metrics.{fmt}"
        assert len(frame) == 4 and metrics.exists()
    import optuna
    journal = tmp_path / "optuna.log"
    assert cli("sweep", "export", doc["id"], "--store", url, "--format", "optuna", "--out", journal).returncode == 0
    assert cli("sweep", "export", doc["id"], "--store", url, "--format", "optuna", "--out", journal).returncode == 0
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    names = sorted(optuna.get_all_study_names(storage))
    assert names == [f"{doc['id']}/mup/w32/d1", f"{doc['id']}/mup/w64/d1"]  # re-export replaced, not duplicated
    study = optuna.load_study(study_name=names[0], storage=storage)
    states = sorted(t.state.name for t in study.trials)
    assert states == ["COMPLETE", "FAIL"] and study.best_trial.params["log2_lr"] == pytest.approx(math.log2(1e-3))
    failed = next(t for t in study.trials if t.state.name == "FAIL")
    assert failed.user_attrs["status"] == "diverged" and failed.user_attrs["diverged_step"] >= 0
    bad = cli("sweep", "status", "nope", "--store", url)
    assert bad.returncode == 2 and "sweep id: no sweep 'nope'" in bad.stderr
    bad = cli("sweep", "list", "--store", "nonsense://x")
    assert bad.returncode == 2 and bad.stderr.startswith("paramz: error: store: cannot use 'nonsense://x'")


def test_a_trial_that_raises_is_failed_with_its_error_kept_and_the_sweep_goes_on(store_url, make_spec, monkeypatch):
    import sweeps.run.executors.local
    real = sweeps.run.executors.local.run_trial

    def flaky(cfg, report=None):
        if cfg.lr == 1e-2:
            raise RuntimeError("out of memory (simulated)")
        return real(cfg, report)

    monkeypatch.setattr(sweeps.run.executors.local, "run_trial", flaky)
    store = Store(store_url())
    sweep_id = run_spec(make_spec(), store, LocalExecutor())
    trials = store.trials_frame(sweep_id)
    failed = trials[trials.status == "failed"]
    assert len(failed) == 2 and failed.error.str.contains("out of memory \\(simulated\\)").all()
    assert (trials[trials.lr == 1e-3].status == "completed").all()
    assert store.status(sweep_id) == "failed"  # every trial finished, two of them failed: the sweep says so


def test_a_running_trial_streams_a_prefix_of_its_metrics(make_spec):
    from sweeps.run import run_trial
    from sweeps.search import expand
    cfg = expand(make_spec())[0]
    reports = []
    result = run_trial(cfg, reports.append, every=0)
    streamed = [record for report in reports for record in report]
    assert len(reports) > 5 and streamed == result.metrics[:len(streamed)]
    assert len(streamed) >= len(result.metrics) - 4 - 8  # all but the final evaluation, probe and 8 phase times
    times = {name: value for _, name, value in result.metrics if name.startswith("time/")}
    assert sorted(times) == sorted(f"time/{p}" for p in PHASES) and all(v >= 0 for v in times.values())
    assert 0.5 * result.seconds < sum(times.values()) <= result.seconds * 1.001   # the phases account for the trial


def test_phase_clock_charges_each_block_to_its_phase():
    clock = PhaseClock()
    with clock.span("probe"):
        time.sleep(0.05)
    time.sleep(0.03)
    clock.lap("data")
    assert 0.045 < clock.seconds["probe"] < 0.2 and 0.025 < clock.seconds["data"] < 0.2
    assert clock.seconds["forward"] == 0.0


def test_live_metrics_are_kept_apart_and_cleared_by_finish_retry_resume_and_cancel(store_url, make_spec, monkeypatch):
    import functools

    import sweeps.run.executors.local
    from sweeps.run import run_trial
    from sweeps.search import expand
    store = Store(store_url())
    spec = make_spec()
    configs = expand(spec)
    sweep_id = application.launch(store, spec).sweep_id
    a, b = configs[0].id, configs[1].id
    store.add_live(sweep_id, a, [(0, "train_loss", 2.0), (5, "train_loss", math.inf)])
    store.add_live(sweep_id, b, [(0, "train_loss", 3.0)])
    live = store.metrics_frame(sweep_id, live=True)
    assert len(live) == 3 and live.live.all() and live.value.isna().sum() == 1  # inf is stored as null
    assert store.metrics_frame(sweep_id).empty                                # never mixed into the metrics
    store.mark_pending(sweep_id, a, "worker died")                            # a retry starts afresh
    assert set(store.metrics_frame(sweep_id, live=True).trial_id) == {b}
    store.claim_pending(sweep_id)                                             # a resume clears them all
    assert store.metrics_frame(sweep_id, live=True).empty
    store.add_live(sweep_id, a, [(0, "train_loss", 2.0)])
    store.cancel_unfinished(sweep_id)
    assert store.metrics_frame(sweep_id, live=True).empty

    calls = []
    original = Store.add_live
    monkeypatch.setattr(Store, "add_live", lambda self, *args: (calls.append(args[1]), original(self, *args)))
    monkeypatch.setattr(sweeps.run.executors.local, "run_trial", functools.partial(run_trial, every=0))
    fresh = Store(store_url())
    sweep_id = run_spec(spec, fresh, LocalExecutor())
    assert set(calls) == set(fresh.trials_frame(sweep_id).id)                # every trial streamed through the engine
    final = fresh.metrics_frame(sweep_id, live=True)
    assert not final.live.any() and len(final) == len(fresh.metrics_frame(sweep_id))  # and finishing cleared it


def test_one_runner_per_sweep_through_the_lease(store_url, make_spec):
    import os
    import socket
    import subprocess
    import sys

    from sweeps.store import SweepBusy
    store = Store(store_url())
    spec = make_spec()
    sweep_id = application.launch(store, spec).sweep_id
    alive = f"{socket.gethostname()}:{os.getpid()}:other"
    store.acquire(sweep_id, alive)
    with pytest.raises(SweepBusy, match=f"already being run by {alive}"):
        store.acquire(sweep_id, f"{socket.gethostname()}:{os.getpid()}:mine")
    with pytest.raises(SweepBusy):
        run_spec(spec, store, LocalExecutor())
    assert store.counts(sweep_id) == {"pending": 4} and store.held(sweep_id)
    assert store.heartbeat(sweep_id, alive) and not store.heartbeat(sweep_id, "someone-else")
    store.release(sweep_id, alive)
    assert store.lease(sweep_id) is None and not store.held(sweep_id)

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    store.acquire(sweep_id, f"{socket.gethostname()}:{int(dead.stdout)}:killed")  # its process is gone (kill -9)
    assert not store.held(sweep_id)
    run_spec(spec, store, LocalExecutor())                                      # so it is taken over at once
    assert store.counts(sweep_id) == {"completed": 4} and store.lease(sweep_id) is None  # and released at the end

    other_host = Store(store_url())
    other_id = application.launch(other_host, spec).sweep_id
    other_host.acquire(other_id, "elsewhere:123:x")
    with pytest.raises(SweepBusy):
        other_host.acquire(other_id, "me:1:y")
    assert other_host.acquire(other_id, "me:1:y", stale_after=0.0) is None       # a silent host: stale by time
    assert other_host.lease(other_id).owner == "me:1:y"


def test_cli_refuses_a_sweep_another_runner_holds(tmp_path, spec_file, capsys):
    import os
    import socket

    from sweeps.spec import load_spec
    path = spec_file()
    store = Store(f"sqlite:///{tmp_path}/s.db")
    spec = load_spec(path)
    application.launch(store, spec)
    store.acquire(spec.sweep_id, f"{socket.gethostname()}:{os.getpid()}:service")
    code = main(["sweep", "run", str(path), "--executor", "local", "--store", store.url])
    err = capsys.readouterr().err
    assert code == 2 and "already being run by" in err and ":service" in err and "Traceback" not in err


def test_cli_cancel_and_adaptive_flag(tmp_path, spec_file, capsys):
    import os
    import socket

    from sweeps.spec import load_spec
    url = f"sqlite:///{tmp_path}/s.db"
    store = Store(url)
    path = spec_file()
    spec = load_spec(path)
    sweep_id = application.launch(store, spec).sweep_id
    store.acquire(sweep_id, f"{socket.gethostname()}:{os.getpid()}:runner")   # a live runner holds it
    assert main(["sweep", "cancel", sweep_id, "--store", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "cancelling"      # its runner will stop it
    store.release(sweep_id, f"{socket.gethostname()}:{os.getpid()}:runner")
    assert main(["sweep", "cancel", sweep_id, "--store", url, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "cancelled" and doc["counts"] == {"cancelled": 4}
    assert main(["sweep", "cancel", "nope", "--store", url]) == 2

    assert main(["sweep", "run", str(path), "--executor", "local", "--store", url, "--adaptive", "--json"]) == 0
    adaptive = json.loads(capsys.readouterr().out)
    assert adaptive["id"] != sweep_id and adaptive["status"] == "completed"
    assert store.spec(adaptive["id"]).search is not None and sum(adaptive["counts"].values()) > 4
