"""One trial: the step-0 probe shared by the LRs of one model and the Krylov workspace kept across trials,
with the records a fresh solve gives."""

from __future__ import annotations

import pytest

import paramz.sharpness
from sweeps.run import trial
from sweeps.search import expand
from sweeps.spec import parse_spec
from tests.sweeps.conftest import small_spec


def _records(result, at=None):
    return [(s, n, v) for s, n, v in result.metrics if not n.startswith("time/") and (at is None or s == at)]


def test_the_step0_probe_is_solved_once_per_model_and_its_records_are_a_fresh_solves(monkeypatch):
    spec = parse_spec(small_spec(parameterizations=[{"name": "mup"}], widths=[64], lr={"values": [1e-3, 1e-2]},
                                 seeds=[0, 1], sharpness={"probes": 3, "variants": ["raw", "lr", "adam"]}))
    configs = expand(spec)                      # (lr 1e-3, seed 0), (1e-3, 1), (1e-2, 0), (1e-2, 1)
    assert trial.initial_probe_key(configs[0]) == trial.initial_probe_key(configs[2])
    assert trial.initial_probe_key(configs[0]) != trial.initial_probe_key(configs[1])     # another seed
    solves = []
    real = trial.probe_model
    monkeypatch.setattr(trial, "probe_model", lambda *a, **k: (solves.append(1), real(*a, **k))[1])
    trial._INITIAL_PROBES.clear()
    trial._WORKSPACES.clear()
    shared = [trial.run_trial(c) for c in configs]
    assert len(solves) == 4 * 3 - 2                   # the second LR of each seed reuses its step-0 probe
    assert len(trial._WORKSPACES) == 1                # and each trial the previous one's Krylov workspace
    for cfg, result in zip(configs, shared):
        trial._INITIAL_PROBES.clear()                 # every trial alone, solving its own step-0 probe
        trial._WORKSPACES.clear()                     # in a fresh workspace, drawing its own random starts
        monkeypatch.setattr(trial, "probe_model", real)
        fresh = trial.run_trial(cfg)
        assert _records(result) == _records(fresh)     # bitwise: values, EoS ratio at this LR, HVP counts
        at0 = {n: v for _, n, v in _records(result, 0)}
        assert at0["eos/raw"] == pytest.approx(paramz.sharpness.edge_of_stability(at0["sharpness/raw"], cfg.lr, "raw"))
        assert "sharpness/adam" not in at0            # no Adam state before the first step
