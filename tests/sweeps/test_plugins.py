"""User tasks through the entry-point registry: validated, run, and refused when malformed."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

import paramz
import paramz.plugins
import sweeps.spec.plugins
from sweeps.run import LocalExecutor
from sweeps.spec import SpecError, parse_spec
from sweeps.spec.tasks import TASKS
from sweeps.store import Store
from tests.sweeps.conftest import run_spec, small_spec


@pytest.fixture
def entry_points(monkeypatch):
    saved = dict(TASKS)
    points: list[EntryPoint] = []
    def installed(group):
        return [ep for ep in points if ep.group == group]
    monkeypatch.setattr(paramz.plugins, "entry_points", installed)   # tasks and models alike (and the example
                                                                     # package's installed model is hidden)
    yield points
    TASKS.clear()
    TASKS.update(saved)


def test_an_installed_task_is_registered_and_a_sweep_runs_on_it(entry_points, tmp_path):
    entry_points.append(EntryPoint("parity", "tests.sweeps.toy_plugin:ParityTask", "paramz.tasks"))
    with pytest.raises(SpecError, match="unknown task 'parity'"):
        parse_spec(small_spec(task={"name": "parity"}))
    assert sweeps.spec.plugins.load_plugins() == ["parity"]
    spec = parse_spec(small_spec(task={"name": "parity", "options": {"d_in": 4}}, steps=60,
                                 lr={"values": [1e-2]}))
    store = Store(f"sqlite:///{tmp_path}/p.db")
    trials = store.trials_frame(run_spec(spec, store, LocalExecutor()))
    assert set(trials.status) == {"completed"} and (trials.final_eval_loss < 1.0).all()  # it learns (var 2 at start)


def test_allowlist_and_malformed_plugins(entry_points):
    entry_points.append(EntryPoint("parity", "tests.sweeps.toy_plugin:ParityTask", "paramz.tasks"))
    assert sweeps.spec.plugins.load_plugins(allow=[]) == []
    entry_points.append(EntryPoint("junk", "tests.sweeps.toy_plugin:NotATask", "paramz.tasks"))
    with pytest.raises(paramz.ConfigError, match="task 'junk': must be a sweeps.spec.tasks.Task subclass"):
        sweeps.spec.plugins.load_plugins()
    entry_points[-1] = EntryPoint("gone", "tests.sweeps.no_such_module:X", "paramz.tasks")
    with pytest.raises(paramz.ConfigError, match="plugin paramz.tasks:gone .* failed to load"):
        sweeps.spec.plugins.load_plugins()


def test_the_allowlist_from_the_environment_one_settings_source(monkeypatch):
    from sweeps.settings import load_settings
    monkeypatch.delenv("PARAMZ_PLUGINS", raising=False)
    assert load_settings(_env_file=None).plugins is None
    monkeypatch.setenv("PARAMZ_PLUGINS", '["parity", "mynet"]')
    assert load_settings(_env_file=None).plugins == ["parity", "mynet"]
    monkeypatch.setenv("PARAMZ_PLUGINS", " parity , mynet ")          # what the service refused before
    assert load_settings(_env_file=None).plugins == ["parity", "mynet"]
    monkeypatch.setenv("PARAMZ_PLUGINS", '["parity", 3]')
    with pytest.raises(paramz.ConfigError, match="PARAMZ_PLUGINS"):
        load_settings(_env_file=None)
    monkeypatch.setenv("PARAMZ_PLUGINS", '["parity"')
    with pytest.raises(paramz.ConfigError, match="PARAMZ_PLUGINS: .* is not a JSON list of names"):
        load_settings(_env_file=None)
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")                 # Ray's own variable is read too
    monkeypatch.delenv("PARAMZ_PLUGINS")
    assert load_settings(_env_file=None).ray_address == "10.0.0.1:6379"
    assert load_settings(_env_file=None, ray_address="other:1").ray_address == "other:1"   # a CLI flag wins


def test_replace_makes_the_allowlist_exact(entry_points):
    entry_points.append(EntryPoint("parity", "tests.sweeps.toy_plugin:ParityTask", "paramz.tasks"))
    assert sweeps.spec.plugins.load_plugins() == ["parity"] and "parity" in TASKS
    assert sweeps.spec.plugins.load_plugins([], replace=True) == [] and "parity" not in TASKS
    assert "teacher" in TASKS  # built-in tasks are never dropped
