"""Launching a spec again behaves the same from the CLI and from REST (`sweeps.application.launch`)."""

from __future__ import annotations

import json
import time

import pytest

from paramz.cli import main as paramz_main
from sweeps import application
from sweeps.cli import COMMANDS
from sweeps.domain import SweepState
from sweeps.run import LocalExecutor, run_sweep
from sweeps.spec import parse_spec
from sweeps.store import Store
from tests.service.conftest import AUTH, body


def _cancelled(store: Store, spec) -> None:
    application.cancel(store, application.launch(store, spec).sweep_id)


def _failed(store: Store, spec) -> None:
    sweep_id = application.launch(store, spec).sweep_id
    run_sweep(store, sweep_id, LocalExecutor())
    for trial_id in store.trials_frame(sweep_id).id[:2]:
        store.fail_trial(sweep_id, trial_id, "RuntimeError: simulated")
    store.set_status(sweep_id, SweepState.FAILED)


@pytest.mark.parametrize("make_state", [_cancelled, _failed], ids=["after-cancel", "after-failure"])
def test_relaunch_from_the_cli_and_from_rest_agree(make_state, make_client, settings, capsys, tmp_path):
    spec = parse_spec(body())
    cli_store, rest_store = Store(f"sqlite:///{tmp_path}/cli.db"), Store(settings.store)
    kept = {}
    for store in (cli_store, rest_store):  # the same state in two stores: cancelled, or failed with 2 trials
        make_state(store, spec)
        kept[store.url] = store.trials_frame(spec.sweep_id).query("status == 'completed'").set_index("id").finished_at
    # the CLI: `paramz sweep run SPEC`
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(body()))
    code = paramz_main(["sweep", "run", str(path), "--executor", "local", "--store", cli_store.url, "--json"], COMMANDS)
    cli_doc = json.loads(capsys.readouterr().out)
    # REST: POST the same spec to a service on the other store
    client = make_client(run_sweeps=True)
    response = client.post("/api/v1/sweeps", json=body(), headers=AUTH)
    assert response.status_code == 202
    rest_doc = response.json()
    deadline = time.monotonic() + 60
    while (status := client.get(f"/api/v1/sweeps/{spec.sweep_id}").json())["status"] != "completed":
        assert time.monotonic() < deadline, status
        time.sleep(0.2)

    assert code == 0 and cli_doc["id"] == rest_doc["id"] == spec.sweep_id
    assert cli_doc["reopened"] is rest_doc["reopened"] is True and cli_doc["created"] is rest_doc["created"] is False
    assert cli_doc["status"] == status["status"] == "completed" and cli_doc["counts"] == status["counts"] == {
        "completed": 4}
    for store in (cli_store, rest_store):  # the trials finished before the relaunch were kept, not run again
        after = store.trials_frame(spec.sweep_id).set_index("id")
        assert after.finished_at[kept[store.url].index].equals(kept[store.url])
        assert (after.attempts[kept[store.url].index] == 1).all()


def test_relaunching_a_completed_sweep_runs_nothing(make_client, settings):
    store = Store(settings.store)
    spec = parse_spec(body())
    sweep_id = application.launch(store, spec).sweep_id
    run_sweep(store, sweep_id, LocalExecutor())
    finished = store.trials_frame(sweep_id).set_index("id").finished_at
    again = application.launch(store, spec)
    assert (again.created, again.reopened, again.status, again.runnable) == (False, False, "completed", False)
    doc = make_client().post("/api/v1/sweeps", json=body(), headers=AUTH).json()
    assert (doc["created"], doc["reopened"], doc["status"]) == (False, False, "completed")
    assert store.trials_frame(sweep_id).set_index("id").finished_at.equals(finished)
