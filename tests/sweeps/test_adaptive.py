"""Adaptive LR search against a synthetic executor whose loss curves have known optima."""

from __future__ import annotations

import numpy as np
import pytest

from sweeps.analysis import fit_transfer_law, optimal_lr_per_scale, verdict
from sweeps.search.adaptive import Lattice, next_lrs, scales
from sweeps.spec import SearchSpec, SpecError, parse_spec
from sweeps.store import Store
from tests.sweeps.conftest import Synthetic, run_spec, small_spec, truth


def spec(search=None, seeds=(0,), params=("sp", "mup")):
    return parse_spec(small_spec(parameterizations=[{"name": p} for p in params], base_width=64,
                                 widths=[64, 128, 256, 512, 1024], lr={"log2_min": -16, "log2_max": -2},
                                 seeds=list(seeds), **({"search": search} if search is not None else {})))


def optima(store, sweep_id):
    return {(o.parameterization, o.width): o for o in optimal_lr_per_scale(store.trials_frame(sweep_id))}


def test_adaptive_finds_the_grid_optima_with_far_fewer_trials(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/s.db")
    grid_id = run_spec(spec(), store, Synthetic())
    executor = Synthetic()
    adaptive_id = run_spec(spec({}), store, executor)
    assert adaptive_id != grid_id and store.status(adaptive_id) == "completed"
    grid, adaptive = optima(store, grid_id), optima(store, adaptive_id)
    assert grid.keys() == adaptive.keys() and len(grid) == 10
    for key, g in grid.items():
        a = adaptive[key]
        assert "edge" not in a.flags and (a.width_octaves <= 0.5 + 1e-9 or a.method == "assumed")  # stop rule
        assert max(a.log2_low, g.log2_low) <= min(a.log2_high, g.log2_high)     # same optimum
        assert a.log2_lr == pytest.approx(truth(*key), abs=0.05)              # a parabola through exact points
    n_grid, n_adaptive = len(store.trials_frame(grid_id)), len(store.trials_frame(adaptive_id))
    assert n_grid == 2 * 5 * 15 and n_adaptive <= 0.5 * n_grid, (n_adaptive, n_grid)
    assert max(executor.runs.values()) == 1                                    # nothing ran twice
    fits = fit_transfer_law(list(adaptive.values()), 64, 1)
    assert fits["sp"].a == pytest.approx(-1.0, abs=0.05) and fits["mup"].a == pytest.approx(0.0, abs=0.05)
    assert verdict(fits["mup"])["width"].outcome == "transfers" and verdict(fits["sp"])["width"].outcome == "drifts"


def test_later_scales_open_at_the_prediction_and_stay_narrow(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/s.db")
    sweep_id = run_spec(spec({}), store, Synthetic())
    trials = store.trials_frame(sweep_id)
    per_scale = trials.groupby(["parameterization", "width"]).size()
    first = per_scale.xs(64, level="width")
    assert (first >= 8).all()                            # the coarse opening grid over 14 octaves
    later = per_scale.drop(64, level="width")
    assert (later <= 7).all() and later.mean() <= 5.5, later  # prediction ± band, a widening, a bisection or two
    sp = trials[(trials.parameterization == "sp") & (trials.width == 1024)]
    assert np.log2(sp.lr).between(truth("sp", 1024) - 2.5, truth("sp", 1024) + 2.5).all()


def test_a_crash_mid_search_resumes_to_the_same_trials_and_runs_nothing_twice(tmp_path):
    reference = Store(f"sqlite:///{tmp_path}/ref.db")
    ref_trials = reference.trials_frame(run_spec(spec({}), reference, Synthetic()))
    store = Store(f"sqlite:///{tmp_path}/s.db")
    crashing = Synthetic(crash_after=17)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_spec(spec({}), store, crashing)
    resumed = Synthetic()
    sweep_id = run_spec(spec({}), store, resumed)
    trials = store.trials_frame(sweep_id)
    assert set(trials.id) == set(ref_trials.id) and set(trials.status) == {"completed", "diverged"}
    assert not set(crashing.runs) & set(resumed.runs)                          # finished work kept, not redone
    assert sum(crashing.runs.values()) + sum(resumed.runs.values()) == len(trials)


def test_seed_noise_brings_in_optuna_refinement_and_the_budget_caps_it(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/s.db")
    quiet = run_spec(spec({"tolerance": 0.5}, seeds=(0, 1, 2), params=("mup",)), store, Synthetic(noise=0.0))
    noisy = run_spec(spec({"tolerance": 0.3, "max_points": 9}, seeds=(0, 1, 2), params=("mup",)), store,
                      Synthetic(noise=0.02))
    n_quiet = store.trials_frame(quiet).groupby("width").lr.nunique()
    n_noisy = store.trials_frame(noisy).groupby("width").lr.nunique()
    assert (n_noisy <= 9).all() and (n_noisy > n_quiet).any(), (n_quiet, n_noisy)  # refinement happened, capped
    for opt in optima(store, noisy).values():
        assert opt.log2_low - 0.5 <= truth("mup", opt.width) <= opt.log2_high + 0.5


def test_next_lrs_brackets_then_stops():
    lattice, search = Lattice(-16, -2, 0.5), SearchSpec()
    assert lattice.coarse(2.0) == [-16, -14, -12, -10, -8, -6, -4, -2]
    assert Lattice(-10, -3.3, 0.5).coarse(2.0) == [-10, -8, -6, -4, -3.5]

    def frame(xs, best):
        import pandas as pd
        return pd.DataFrame([dict(parameterization="p", width=64, depth=1, seed=0, lr=2.0 ** x, status="completed",
                                  final_eval_loss=1 + (x - best) ** 2) for x in xs])
    assert next_lrs(frame([], -7), [-9.0, -8.0], lattice, search) == [-9.0, -8.0]
    assert next_lrs(frame([-10, -8, -6], -7.2), [], lattice, search) == [-9.0, -7.0]    # halve both gaps
    assert next_lrs(frame([-10, -9, -8], -4), [], lattice, search) == [-6.0]            # edge: widen by 2
    assert next_lrs(frame([-8.5, -8, -7.5], -8), [], lattice, search) == []             # bracketed at 0.5: done
    assert next_lrs(frame([-16, -15.5], -20), [], lattice, search) == []                # argmin at the range bound
    assert next_lrs(frame([-3, -2.5, -2], 0), [], lattice, search) == []


def test_scales_run_smallest_first_and_search_spec_is_validated():
    s = parse_spec(small_spec(widths=[256, 64, 128], depths=[2, 1], base_width=64, model={"family": "resmlp"}))
    assert scales(s)[:3] == [(64, 1), (64, 2), (128, 1)] and scales(s)[-1] == (256, 2)
    with pytest.raises(SpecError, match="search: coarse_step 0.25 is below step 0.5"):
        parse_spec(small_spec(search={"coarse_step": 0.25}))
    with pytest.raises(SpecError, match=r"search.max_points: .*greater than or equal to 3"):
        parse_spec(small_spec(search={"max_points": 1}))
    assert '"search"' not in parse_spec(small_spec()).canonical_json()      # grid sweep ids are unchanged
    assert parse_spec(small_spec(search={})).n_trials == 1 * 2 * 1 * 16 * 1  # the search's budget
