"""Coordinate checks: μP flat in width, SP grows; α ∈ {½, 1} flat in depth, μP grows (RULES 4–6)."""

from __future__ import annotations

import pytest

import paramz
from paramz.coordcheck import CoordRecord, loglog_slope, verdicts


def by_module(result):
    return {v.module: v for v in result.verdicts}


@pytest.mark.parametrize("model,lr,dims", [
    ("mlp", 1e-2, {}),
    ("resmlp", 1e-2, {}),
    ("gpt", 3e-3, {"d_head": 16, "seq_len": 32}),
])
def test_width_check_mup_flat_sp_grows(model, lr, dims):
    kw = dict(widths=[64, 128, 256, 512], depths=[2], steps=5, lr=lr, dims=dims, batch_size=8)
    mup, sp = paramz.coord_check(model, "mup", **kw), paramz.coord_check(model, "sp", **kw)
    assert mup.passed, [(v.module, round(v.slope, 3)) for v in mup.verdicts if not v.passed]
    assert not sp.passed
    # SP's hidden activations grow with width (RULES item 4): some hidden module by ≥ ×2.5 over 8×
    grown = [v for v in sp.verdicts if v.module not in ("emb", "out") and not v.module.endswith("logits")]
    assert max(v.growth for v in grown) > 2.5 and max(v.slope for v in grown) > 0.4
    assert max(abs(v.slope) for v in mup.verdicts if v.module != "out") < 0.2


def test_depth_check_on_residual_mlp():
    kw = dict(widths=[128], depths=[2, 4, 8, 16], steps=10, lr=1e-3, seeds=2)
    results = {p: paramz.coord_check("resmlp", p, **kw) for p in ("mup", "depth-mup", "completep")}
    assert results["depth-mup"].passed and results["completep"].passed
    assert not results["mup"].passed
    assert by_module(results["mup"])["stream.final"].slope > 0.3  # the stream grows with L under μP
    for p in ("depth-mup", "completep"):
        assert abs(by_module(results[p])["stream.final"].slope) < 0.2


def mean_update(result):
    per: dict[int, list[float]] = {}
    for u in result.updates:
        per.setdefault(u.depth, []).append(u.rel_update)
    return {d: sum(v) / len(v) for d, v in per.items()}


def test_relative_update_per_block_constant_under_alpha_1_halving_under_alpha_half():
    """RULES item 6: ‖ΔW‖/‖W‖ per block when L grows 4×: constant (α = 1), halves (α = ½)."""
    kw = dict(widths=[128], depths=[2, 8, 32], steps=10, lr=1e-3)
    complete = mean_update(paramz.coord_check("resmlp", "completep", **kw))
    half = mean_update(paramz.coord_check("resmlp", "depth-mup", **kw))
    for shallow, deep in ((2, 8), (8, 32)):
        assert 0.85 < complete[deep] / complete[shallow] < 1.1
        assert 0.4 < half[deep] / half[shallow] < 0.6


@pytest.mark.slow
def test_depth_check_on_gpt_in_the_completep_setup():
    """CompleteP Fig. 7 setup (width 256, d_head 64, AdamW lr 1e-3, 10 steps), depths 2–16."""
    kw = dict(widths=[256], depths=[2, 4, 8, 16], steps=10, lr=1e-3, batch_size=8,
              dims={"d_head": 64, "seq_len": 32})
    mup = by_module(paramz.coord_check("gpt", "mup", **kw))
    assert not mup["stream.final"].passed and mup["stream.final.update"].slope > 0.6  # the update grows ≈ L
    for p in ("depth-mup", "completep"):
        verdicts = by_module(paramz.coord_check("gpt", p, **kw))
        assert verdicts["stream.final"].passed and verdicts["stream.final.update"].passed, p


def test_verdict_arithmetic_on_synthetic_records():
    recs = []
    for w in (64, 128, 256, 512):
        for t in (0, 1, 2):
            recs.append(CoordRecord(w, 2, "flat", t, 1.0))
            recs.append(CoordRecord(w, 2, "grows", t, (w / 64) ** 0.5))
            recs.append(CoordRecord(w, 2, "out", t, (w / 64) ** -0.5))  # the 1/√N readout: allowed
            recs.append(CoordRecord(w, 2, "shrinks", t, (w / 64) ** -0.5))
    got = {v.module: v for v in verdicts(recs, "width", 2, 0.2)}
    assert got["flat"].passed and got["out"].passed
    assert not got["grows"].passed and not got["shrinks"].passed
    assert got["grows"].slope == pytest.approx(0.5) and got["grows"].growth == pytest.approx(8 ** 0.5)
    assert loglog_slope([1, 2, 4], [3, 6, 12]) == pytest.approx(1.0)


@pytest.mark.parametrize("kwargs,message", [
    (dict(widths=[64, 128], depths=[2, 4]), "vary one axis at a time"),
    (dict(widths=[64], depths=[2]), "give at least two widths"),
    (dict(widths=[64, -128], depths=[2]), "widths: must be a positive integer, got -128"),
    (dict(widths=[], depths=[2]), "widths: give at least one value"),
    (dict(widths=[64, 128], depths=[2], steps=0), "steps: must be a positive integer"),
    (dict(widths=[64, 128], depths=[2], lr=-1.0), "lr: must be a finite positive number"),
    (dict(widths=[16, 16], depths=[2]), "widths: 16 given more than once"),            # was a ZeroDivisionError
    (dict(widths=[64, 64, 128, 256], depths=[2]), "widths: 64 given more than once"),  # flipped μP's verdict
    (dict(widths=[64, 128], depths=[2], seeds=0), "seeds: must be a positive integer"),  # passed, 0 verdicts
    (dict(widths=[64, 128], depths=[2], batch_size=0), "batch_size: must be a positive integer"),
    (dict(widths=[64, 128], depths=[2], threshold=-0.1), "threshold: must be a finite positive number"),
    (dict(widths=[64, 128], depths=[2], threshold=float("nan")), "threshold: must be a finite positive number"),
    (dict(widths=[64, True], depths=[2]), "widths: must be a positive integer, got True"),
    (dict(widths=[64, 128], depths=[2], optimizer="lion"), "optimizer: unknown value 'lion'"),
])
def test_bad_coord_check_input(kwargs, message):
    with pytest.raises(paramz.ConfigError, match=message):
        paramz.coord_check("mlp", "mup", **kwargs)
