"""Transfer analysis on synthetic loss-vs-LR curves with known optima."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sweeps.analysis import fit_transfer_law, optimal_lr_per_scale, predict, verdict
from tests.sweeps.conftest import run_spec

GRID = np.arange(-12.0, -3.0, 1.0)  # log2 LR


def synthetic(optimum, *, widths=(64,), depths=(2,), seeds=(0,), noise=0.0, curvature=0.05, rng=None,
              diverge_above=None, param="p"):
    """Trials whose seed loss is 1 + curvature·(log2 lr − log2 η*)² + noise; ``optimum(w, d)`` → log2 η*."""
    rng = rng or np.random.default_rng(0)
    rows = []
    for w in widths:
        for d in depths:
            for s in seeds:
                for x in GRID:
                    diverged = diverge_above is not None and x > diverge_above
                    loss = 1 + curvature * (x - optimum(w, d)) ** 2 + noise * rng.standard_normal()
                    rows.append(dict(parameterization=param, width=w, depth=d, seed=s, lr=2.0 ** x,
                                     status="diverged" if diverged else "completed",
                                     final_eval_loss=None if diverged else loss))
    return pd.DataFrame(rows)


def test_sub_grid_optimum_without_noise():
    (opt,) = optimal_lr_per_scale(synthetic(lambda w, d: -7.3))
    assert opt.log2_lr == pytest.approx(-7.3, abs=1e-9) and opt.grid_log2_lr == -7.0
    assert "single-seed" in opt.flags and opt.high - opt.low == pytest.approx(1.0)


def test_bootstrap_interval_covers_the_truth_at_about_the_stated_rate():
    rng = np.random.default_rng(1)
    hits, width = 0, []
    for trial in range(60):
        truth = rng.uniform(-9, -6)
        trials = synthetic(lambda w, d, truth=truth: truth, seeds=range(8), noise=0.02, rng=rng)
        (opt,) = optimal_lr_per_scale(trials, n_boot=200, seed=trial)
        hits += opt.low <= truth <= opt.high
        width.append(opt.high - opt.low)
    assert hits / 60 >= 0.8, hits  # a 95% percentile bootstrap over 8 seeds: allow some undercoverage
    assert np.median(width) < 1.0  # and the interval is informative (under one octave)


def test_diverged_points_count_as_infinite_and_flags():
    trials = synthetic(lambda w, d: -4.2, diverge_above=-6.5)  # true optimum beyond the diverged region
    (opt,) = optimal_lr_per_scale(trials)
    assert opt.grid_log2_lr == -7.0 and "edge" not in opt.flags  # -inf is not "missing": argmin stays below
    (edge,) = optimal_lr_per_scale(synthetic(lambda w, d: -2.0))
    assert "edge" in edge.flags
    (flat,) = optimal_lr_per_scale(synthetic(lambda w, d: -8.0, curvature=1e-5))
    assert "flat" in flat.flags
    (many,) = optimal_lr_per_scale(synthetic(lambda w, d: -11.0, diverge_above=-10.5))
    assert "diverged" in many.flags


def test_known_drift_is_recovered_and_called_drifts_and_flat_is_called_transfers():
    widths = (64, 128, 256, 512, 1024)
    sp = synthetic(lambda w, d: -6 - math.log2(w / 64), widths=widths, seeds=range(4), noise=0.01, param="sp")
    mup = synthetic(lambda w, d: -7.5, widths=widths, seeds=range(4), noise=0.01, param="mup")
    fits = fit_transfer_law(optimal_lr_per_scale(pd.concat([sp, mup])), base_width=64, base_depth=2)
    assert fits["sp"].a == pytest.approx(-1.0, abs=0.1)  # η* ∝ N^-1
    low, high = fits["sp"].interval("a")
    assert low <= -1.0 <= high
    assert verdict(fits["sp"])["width"].startswith("drifts -1.0")
    assert fits["mup"].a == pytest.approx(0.0, abs=0.1) and verdict(fits["mup"])["width"].startswith("transfers")
    assert fits["mup"].c == pytest.approx(-7.5, abs=0.1)


def test_width_and_depth_fit_and_prediction_with_extrapolation_warning():
    trials = synthetic(lambda w, d: -8 - 0.5 * math.log2(w / 64) + 0.25 * math.log2(d / 2),
                       widths=(64, 128, 256), depths=(2, 4, 8), seeds=range(3), noise=0.005)
    fit = fit_transfer_law(optimal_lr_per_scale(trials), base_width=64, base_depth=2)["p"]
    assert (fit.a, fit.b) == (pytest.approx(-0.5, abs=0.1), pytest.approx(0.25, abs=0.1))
    inside = predict(fit, 128, 4)
    assert inside.log2_lr == pytest.approx(-8.25, abs=0.15) and inside.warnings == ()
    assert inside.lr_low < inside.lr < inside.lr_high
    far = predict(fit, 2048, 4)
    assert far.log2_lr == pytest.approx(-8 - 2.5 + 0.25, abs=0.4)
    assert "extrapolating 3.0 doublings of width" in far.warnings[0]
    far_sd = math.log2(far.lr_high / far.lr_low)
    assert far_sd > math.log2(inside.lr_high / inside.lr_low)  # the interval widens out there


def test_edge_optima_are_left_out_of_the_fit_and_named():
    trials = pd.concat([synthetic(lambda w, d: -7.0, widths=(64, 128, 256)),
                        synthetic(lambda w, d: -2.0, widths=(512,))])
    fit = fit_transfer_law(optimal_lr_per_scale(trials), base_width=64, base_depth=2)["p"]
    assert list(fit.left_out) == [(512, 2, "edge of grid")] and len(fit.used) == 3


@pytest.mark.slow
def test_real_sweep_sp_drifts_and_mup_transfers(tmp_path):
    """MLP on the teacher task, AdamW, widths 128–512 (batch 32, far below every width), run by the engine."""
    from sweeps.run import LocalExecutor
    from sweeps.spec import parse_spec
    from sweeps.store import Store

    spec = parse_spec({
        "name": "transfer", "model": {"family": "mlp"},
        "task": {"name": "teacher", "options": {"d_in": 32, "d_out": 10}},
        "parameterizations": [{"name": "sp"}, {"name": "mup"}], "base_width": 128, "widths": [128, 256, 512],
        "depths": [2], "lr": {"log2_min": -13, "log2_max": -6}, "steps": 300, "batch_size": 32, "eval_every": 300,
        "sharpness": {"probes": 0}})
    store = Store(f"sqlite:///{tmp_path}/t.db")
    sweep_id = run_spec(spec, store, LocalExecutor())
    fits = fit_transfer_law(optimal_lr_per_scale(store.trials_frame(sweep_id)), base_width=128, base_depth=2)
    assert verdict(fits["sp"])["width"].startswith("drifts") and fits["sp"].a < -0.8
    assert verdict(fits["mup"])["width"].startswith("transfers") and abs(fits["mup"].a) < 0.45
