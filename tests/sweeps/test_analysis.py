"""Transfer analysis on synthetic loss-vs-LR curves with known optima."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sweeps.analysis import (
    TOLERANCE,
    fit_transfer_law,
    optimal_lr_per_scale,
    predict,
    super_consistency,
    transfer_report,
    verdict,
)
from sweeps.analysis.law import no_law_reason
from sweeps.analysis.optimum import SEED_SCATTER, Z95
from sweeps.analysis.synthetic import synthetic_trials
from tests.sweeps.conftest import run_spec

GRID = np.arange(-16.0, -3.0, 1.0)  # log2 LR


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


def test_sub_grid_optimum_without_noise_and_the_one_seed_interval_states_its_assumption():
    (opt,) = optimal_lr_per_scale(synthetic(lambda w, d: -7.3))
    assert opt.log2_lr == pytest.approx(-7.3, abs=1e-9) and opt.grid_log2_lr == -7.0
    assert "single-seed" in opt.flags and opt.method == "assumed"
    # nothing measures the seed scatter: ½ octave assumed (the fit of an exact parabola adds nothing)
    assert (opt.log2_low, opt.log2_high) == (pytest.approx(-7.3 - Z95 * SEED_SCATTER),
                                             pytest.approx(-7.3 + Z95 * SEED_SCATTER))


def test_seeds_that_agree_exactly_still_get_the_grid_floor_never_zero_width():
    (opt,) = optimal_lr_per_scale(synthetic(lambda w, d: -7.3, seeds=range(3)))
    assert opt.method == "seeds" and opt.dof == 2 and opt.width_octaves == pytest.approx(2 / 8)  # ± 1/8 grid step
    assert opt.sd == pytest.approx(1 / 8 / stats.t.ppf(0.975, 2))


def test_seed_scatter_is_pooled_across_scales_and_lent_to_a_one_seed_scale():
    rng = np.random.default_rng(3)
    many = synthetic_trials(lambda w, d: -8.0, grid=GRID, widths=(64, 128, 256), seeds=range(3), rng=rng)
    one = synthetic_trials(lambda w, d: -8.0, grid=GRID, widths=(512,), seeds=(0,), rng=rng)
    optima = {o.width: o for o in optimal_lr_per_scale(pd.concat([many, one]))}
    assert optima[512].method == "pooled" and optima[512].dof == 6             # 3 scales × (3 − 1)
    assert optima[64].method == "seeds" and optima[64].dof == 2 + 4           # own 2 + at most 4 lent
    # the one-seed scale's sd is the pooled sd of one seed: √3 × a three-seed scale's (same pooled variance)
    pooled = np.mean([optima[w].sd ** 2 * 3 for w in (64, 128, 256)])
    assert optima[512].sd == pytest.approx(math.sqrt(pooled), rel=0.5)


def test_diverged_points_count_as_infinite_and_flags():
    trials = synthetic(lambda w, d: -4.2, diverge_above=-6.5)  # true optimum beyond the diverged region
    (opt,) = optimal_lr_per_scale(trials)
    assert opt.grid_log2_lr == -7.0 and "edge" not in opt.flags  # -inf is not "missing": argmin stays below
    (flat,) = optimal_lr_per_scale(synthetic(lambda w, d: -8.0, curvature=1e-5))
    assert "flat" in flat.flags
    (many,) = optimal_lr_per_scale(synthetic(lambda w, d: -11.0, diverge_above=-10.5))
    assert "diverged" in many.flags


def test_an_edge_optimum_gets_a_half_open_interval_bounded_by_the_grid():
    (high,) = optimal_lr_per_scale(synthetic(lambda w, d: -2.0, seeds=range(2)))
    assert "edge" in high.flags and high.method == "edge"
    assert (high.log2_low, high.log2_high) == (GRID[-2], math.inf) and high.width_octaves > 0
    (low,) = optimal_lr_per_scale(synthetic(lambda w, d: -17.0))
    assert (low.log2_low, low.log2_high) == (-math.inf, GRID[1])
    one = synthetic(lambda w, d: -7.0, widths=(64, 128))
    one = one[(one.width == 128) | (one.lr == 2.0 ** GRID[3])]     # width 64: one LR left (the others failed)
    (only, _) = optimal_lr_per_scale(one)
    assert (only.log2_low, only.log2_high) == (-math.inf, math.inf) and "edge" in only.flags
    assert no_law_reason("p", [only]).endswith(f"64×2: one LR only: 2^{GRID[3]:g} is the only LR with a finite "
                                               "loss at this scale; run more LRs)")


def test_known_drift_is_recovered_and_called_drifts_and_flat_is_called_transfers():
    widths = (64, 128, 256, 512, 1024, 2048)
    rng = np.random.default_rng(7)
    sp = synthetic_trials(lambda w, d: -5 - math.log2(w / 64), grid=GRID, widths=widths, seeds=range(5), rng=rng,
                          param="sp")
    mup = synthetic_trials(lambda w, d: -7.5, grid=GRID, widths=widths, seeds=range(5), rng=rng, param="mup")
    optima = optimal_lr_per_scale(pd.concat([sp, mup]))
    fits = fit_transfer_law(optima, base_width=64, base_depth=2)
    low, high = fits["sp"].interval("a")
    assert low <= -1.0 <= high and fits["sp"].a == pytest.approx(-1.0, abs=0.2)  # η* ∝ N^-1
    sp_v, mup_v = verdict(fits["sp"], optima=optima)["width"], verdict(fits["mup"], optima=optima)["width"]
    assert sp_v.outcome == "drifts" and sp_v.high < -TOLERANCE and sp_v.text.startswith("drifts (-")
    assert mup_v.outcome == "transfers" and -TOLERANCE <= mup_v.low and mup_v.high <= TOLERANCE
    assert fits["mup"].c == pytest.approx(-7.5, abs=0.3)


def test_a_small_drift_inside_the_tolerance_transfers_and_says_it_is_not_zero():
    widths = (64, 128, 256, 512, 1024, 2048)                    # -0.15 octave per doubling, seeds that agree
    trials = synthetic(lambda w, d: -8.0 - 0.15 * math.log2(w / 64), widths=widths, seeds=range(3))
    optima = optimal_lr_per_scale(trials)
    fit = fit_transfer_law(optima, base_width=64, base_depth=2)["p"]
    v = verdict(fit, optima=optima)["width"]
    assert v.outcome == "transfers" and v.high < 0
    assert v.text.endswith(f"not zero: η* moves {fit.a * 5:+.2f} octaves over the swept 32× "
                           "(the law's predictions include it)")
    assert fit.a * 5 == pytest.approx(-0.75, abs=0.1)
    flat = fit_transfer_law(optimal_lr_per_scale(synthetic(lambda w, d: -8.0, widths=widths, seeds=range(3),
                                                           noise=0.002)), base_width=64, base_depth=2)["p"]
    flat_v = verdict(flat)["width"]
    assert flat_v.low <= 0 <= flat_v.high and "not zero" not in flat_v.text   # an interval holding 0: nothing more


def test_inconclusive_near_the_tolerance_or_with_too_little_data_and_what_would_settle_it():
    widths = (64, 128, 256, 512, 1024, 2048)
    near = synthetic_trials(lambda w, d: -12 + TOLERANCE * math.log2(w / 64), grid=GRID, widths=widths,
                            seeds=range(3), rng=np.random.default_rng(1))
    optima = optimal_lr_per_scale(near)
    v = verdict(fit_transfer_law(optima, 64, 2)["p"], optima=optima)["width"]
    assert v.outcome == "inconclusive" and v.low < TOLERANCE < v.high and v.settle
    few = synthetic_trials(lambda w, d: -8.0, grid=GRID, widths=(64, 128, 256), rng=np.random.default_rng(2))
    optima = optimal_lr_per_scale(few)
    v = verdict(fit_transfer_law(optima, 64, 2)["p"], optima=optima)["width"]
    assert v.outcome == "inconclusive"
    assert any("more seeds (now 1" in s for s in v.settle) and any("more scales along width (now 3" in s
                                                                    for s in v.settle)


def test_a_planted_outlier_is_flagged_left_out_and_does_not_flip_the_verdict():
    widths = (64, 128, 256, 512, 1024, 2048, 4096, 8192)
    clean = synthetic_trials(lambda w, d: -9.0, grid=GRID, widths=widths, seeds=range(5),
                             rng=np.random.default_rng(11))
    planted = clean.copy()
    at = planted["width"] == 512
    planted.loc[at, "lr"] = planted.loc[at, "lr"] * 2 ** -3          # the whole 512 curve moved 3 octaves down
    for trials in (clean, planted):
        optima = optimal_lr_per_scale(trials)
        fit = fit_transfer_law(optima, 64, 2)["p"]
        assert verdict(fit, optima=optima)["width"].outcome == "transfers"
    (out,) = [(w, why) for w, _, why in fit.left_out]
    assert out[0] == 512 and out[1].startswith("outlier: -3.") and (512, 2) not in fit.used


def test_a_point_at_the_end_that_moves_the_slope_is_named_influential():
    widths = (64, 128, 256, 512, 1024)
    trials = synthetic_trials(lambda w, d: -9.0 + (1.2 if w == 1024 else 0.0), grid=GRID, widths=widths,
                              seeds=range(3), rng=np.random.default_rng(5))
    fit = fit_transfer_law(optimal_lr_per_scale(trials), 64, 2)["p"]
    named = {w for w, _, why in fit.influential + fit.left_out}
    assert named == {1024}, (fit.influential, fit.left_out)


def test_drift_at_small_widths_only_is_flagged_pre_asymptotic_and_predicted_from_the_largest():
    widths = (32, 64, 128, 256, 512, 1024, 2048)
    shifted = lambda w, d: -7 - max(0.0, math.log2(256 / w))  # noqa: E731 - drifts +1 per doubling up to 256, then holds
    linear = lambda w, d: -7 - 0.5 * math.log2(w / 32)        # noqa: E731 - the same drift everywhere

    def fits(truth):
        for seed in range(10):
            trials = synthetic_trials(truth, grid=GRID, widths=widths, seeds=range(5), rng=np.random.default_rng(seed))
            optima = optimal_lr_per_scale(trials)
            yield fit_transfer_law(optima, 32, 2)["p"], optima
    flagged = [(fit, optima) for fit, optima in fits(shifted) if fit.shifts]
    assert len(flagged) >= 8                                                  # 18 of 20 when measured
    assert not any(fit.shifts for fit, _ in fits(linear))                   # a straight law is not flagged
    fit, optima = flagged[0]
    (shift,) = fit.shifts
    assert shift.axis == "width" and shift.values == (256, 512, 1024, 2048) and shift.low <= 0 <= shift.high
    assert fit.a > 0.3 and fit.local is not None and fit.local.used == [(w, 2) for w in (256, 512, 1024, 2048)]
    pred = predict(fit, 8192, 2)
    assert pred.rests_on == fit.local.used and "pre-asymptotic in width" in pred.warnings[0]
    assert math.log2(pred.lr_low) <= -7.0 <= math.log2(pred.lr_high)           # where the largest widths point
    assert "pre-asymptotic" in verdict(fit, optima=optima)["width"].text


def test_width_and_depth_fit_and_prediction_with_extrapolation_warning():
    trials = synthetic_trials(lambda w, d: -8 - 0.5 * math.log2(w / 64) + 0.25 * math.log2(d / 2), grid=GRID,
                              widths=(64, 128, 256), depths=(2, 4, 8), seeds=range(3), rng=np.random.default_rng(0))
    fit = fit_transfer_law(optimal_lr_per_scale(trials), base_width=64, base_depth=2)["p"]
    assert (fit.a, fit.b) == (pytest.approx(-0.5, abs=0.25), pytest.approx(0.25, abs=0.25))
    inside = predict(fit, 128, 4)
    assert inside.log2_lr == pytest.approx(-8.25, abs=0.3) and inside.warnings == ()
    assert inside.lr_low < inside.lr < inside.lr_high and len(inside.rests_on) == 9
    far = predict(fit, 2048, 4)
    assert "extrapolating 3.0 doublings of width" in far.warnings[0]
    assert math.log2(far.lr_high / far.lr_low) > math.log2(inside.lr_high / inside.lr_low)  # wider out there


def test_edge_optima_are_left_out_of_the_fit_with_their_reason_and_no_law_is_explained():
    trials = pd.concat([synthetic(lambda w, d: -7.0, widths=(64, 128, 256)),
                        synthetic(lambda w, d: -2.0, widths=(512,))])
    fit = fit_transfer_law(optimal_lr_per_scale(trials), base_width=64, base_depth=2)["p"]
    ((w, d, why),) = fit.left_out
    assert (w, d) == (512, 2) and why.startswith("edge of the LR grid: the best LR is the grid's highest (2^-4)")
    all_edge = synthetic(lambda w, d: -2.0, widths=(64, 128))
    report = transfer_report(all_edge, base_width=64, base_depth=2, parameterizations=["p", "q"], width=4096)
    assert report.fits == {} and set(report.no_law) == {"p", "q"}
    assert "0 of 2 scales usable" in report.no_law["p"] and "64×2: edge of the LR grid" in report.no_law["p"]
    assert report.no_law["q"] == "no scale has a finished trial with a finite loss yet"
    assert report.verdicts["p"]["width"].outcome == "inconclusive" and "no law" in report.verdicts["p"]["width"].text
    assert report.no_prediction["p"].startswith("no law: a law needs usable optima")


def test_super_consistency_is_the_spread_of_sharpness_across_scales_at_matched_steps():
    widths = (64, 128, 256, 512)
    trials = synthetic(lambda w, d: -7.0, widths=widths, seeds=range(2), param="mup")
    trials = pd.concat([trials, synthetic(lambda w, d: -7.0, widths=widths, seeds=range(2), param="sp")])
    trials["id"] = [f"t{i}" for i in range(len(trials))]
    rows = []
    for t in trials.itertuples():
        for step in (0, 50, 100):   # mup: λ the same at every width; sp: λ ∝ width at the end
            value = 3.0 + step / 100 if t.parameterization == "mup" else 3.0 * (t.width / 64) ** (step / 100)
            rows.append(dict(trial_id=t.id, step=step, name="sharpness/adam", value=value))
    optima = optimal_lr_per_scale(trials)
    stats_ = {(c.parameterization, c.mode): c for c in super_consistency(trials, pd.DataFrame(rows), optima)}
    mup, sp = stats_[("mup", "best-lr")], stats_[("sp", "best-lr")]
    assert mup.steps == [0, 50, 100] and mup.cv == [0.0, 0.0, 0.0] and len(mup.scales) == 4
    assert sp.cv[0] == 0.0 and sp.cv_final == pytest.approx(np.std(widths, ddof=1) / np.mean(widths))
    fixed = stats_[("sp", "fixed-lr")]
    assert fixed.lr == 2.0 ** -7 and fixed.cv_final == pytest.approx(sp.cv_final)


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
    optima = optimal_lr_per_scale(store.trials_frame(sweep_id))
    fits = fit_transfer_law(optima, base_width=128, base_depth=2)
    assert fits["sp"].a < -0.8 and abs(fits["mup"].a) < 0.45
    # one seed over 4× width: the verdicts may be inconclusive, but never the opposite of the truth
    assert verdict(fits["sp"], optima=optima)["width"].outcome in ("drifts", "inconclusive")
    assert verdict(fits["mup"], optima=optima)["width"].outcome in ("transfers", "inconclusive")
