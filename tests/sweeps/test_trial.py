"""One trial: the step-0 probe shared by the LRs of one model and the Krylov workspace kept across trials,
with the records a fresh solve gives."""

from __future__ import annotations

import pytest

import paramz.sharpness
from sweeps.run import trial
from sweeps.search import expand
from sweeps.spec import SpecError, TrialConfig, parse_spec
from sweeps.spec.sweep import SharpnessSpec
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


def test_the_default_probe_count_fits_the_budget_by_the_sweeps_estimate():
    """Unset `probes`: as many as fit in `budget` of the trial, estimated at SOLVE_STEPS training steps
    per solve (x the probe batch over the training batch), one solve per operator named, 1 to 8."""
    default = SharpnessSpec()
    assert default.probes is None and default.budget == 0.15 and SharpnessSpec.SOLVE_STEPS == 30
    assert default.variants == ("raw", "lr")
    # 0.15 / 0.85 x steps / (operators x 30): 300 steps and 2 operators afford 0.88 probes -> still one
    assert [default.count(steps, 32, "adamw") for steps in (300, 1000, 2000, 3000, 10**5)] == [1, 2, 5, 8, 8]
    raw, three = SharpnessSpec(variants=("raw",)), SharpnessSpec(variants=("raw", "lr", "adam"))
    assert [raw.count(1000, 32, "adamw"), three.count(1000, 32, "adamw"), three.count(1000, 32, "sgd")] == [5, 1, 2]
    assert SharpnessSpec(variants=("raw",), batch_size=64).count(1000, 32, "adamw") == 2   # probe batch 2x
    assert SharpnessSpec(variants=("raw",), budget=0.5).count(300, 32, "adamw") == 8
    assert SharpnessSpec(variants=("raw",), budget=0.05).count(1000, 32, "adamw") == 1
    assert SharpnessSpec(variants=("adam",)).count(10**5, 32, "sgd") == 0       # nothing to probe without Adam
    assert SharpnessSpec(probes=3).count(10, 32, "adamw") == 3 and SharpnessSpec(probes=0).count(10**5, 32, "sgd") == 0
    assert not SharpnessSpec(probes=0).enabled and SharpnessSpec().enabled


def test_every_trial_of_a_sweep_probes_the_same_steps_at_the_default_schedule():
    """SP's `lr` operator is its `raw` one (one solve a probe), μP's off its base shape is not (two);
    the count does not look: every trial probes the same steps, so sharpness series compare step by
    step across widths and parameterizations. 1,100 steps with raw and lr afford 3 probes."""
    spec = parse_spec(small_spec(parameterizations=[{"name": "sp"}, {"name": "mup"}], lr={"values": [1e-3]},
                                 steps=1100, sharpness={"variants": ["raw", "lr"], "max_iter": 10}))
    configs = expand(spec)
    assert len(configs) == 4 and all(c.sharpness.probes is None for c in configs)
    runs = {(c.label, c.width): trial.run_trial(c) for c in configs}
    expected = trial.probe_steps(1100, 3)
    for (label, width), result in runs.items():
        assert sorted({s for s, n, _ in result.metrics if n == "sharpness/raw"}) == expected, (label, width)
        hvps = [v for s, n, v in result.metrics if n == "hvps/lr"]
        assert (max(hvps) == 0) == (label == "sp" or width == spec.base_width), (label, width)


def test_the_budget_stays_out_of_ids_at_its_default_and_an_unset_count_is_a_new_spec():
    """Sweeps stored with an explicit count keep their ids; a spec leaving the count to the budget is
    another spec (it probes differently), so it hashes differently."""
    explicit = parse_spec(small_spec(sharpness={"probes": 8}))
    assert '"budget"' not in explicit.canonical_json()
    assert '"budget"' in parse_spec(small_spec(sharpness={"budget": 0.3})).canonical_json()
    unset = parse_spec(small_spec(sharpness={}))
    assert '"probes":null' in unset.canonical_json() and unset.sweep_id != explicit.sweep_id
    with pytest.raises(SpecError, match=r"sharpness.*probes \(a fixed count\) or budget.*remove one"):
        parse_spec(small_spec(sharpness={"probes": 8, "budget": 0.3}))
    dumped = parse_spec(small_spec(sharpness={"probes": 8})).model_dump(mode="json")   # budget 0.15 beside the count
    assert dumped["sharpness"]["budget"] == 0.15 and parse_spec(dumped).sweep_id == explicit.sweep_id


def test_a_stored_trial_config_with_a_probe_count_reloads():
    """The store keeps every field of a config, budget beside an explicit count: reloading it is no conflict."""
    (cfg, *_) = expand(parse_spec(small_spec(sharpness={"probes": 3})))
    assert TrialConfig.stored(cfg.model_dump_json()) == cfg
