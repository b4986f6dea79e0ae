"""`paramz validate`: the claims' arithmetic on data with a known answer, and the smoke profile end to end."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from sweeps import application
from sweeps.cli import main as cli_main
from sweeps.run import LocalExecutor
from sweeps.store import Store
from sweeps.validation import PROFILES, run_validation
from sweeps.validation.claims import BestLoss, best_losses, loss_trend, spread_difference
from sweeps.validation.markdown import write_report
from sweeps.validation.run import _prediction_spec


def _best(param, depth, loss, se):
    return BestLoss(param, 64, depth, -8.0, loss, se, 3)


@pytest.mark.parametrize(("last", "se", "outcome"), [(0.60, 0.01, "degrades"), (0.40, 0.01, "improves"),
                                                       (0.51, 0.01, "flat"), (0.60, math.nan, "unknown")])
def test_loss_trend_compares_deepest_and_shallowest_with_two_standard_errors(last, se, outcome):
    bests = [_best("mup", 8, last, se), _best("mup", 2, 0.50, se), _best("mup", 4, 0.9, se)]
    trend = loss_trend(bests, "mup", "depth")
    assert trend.first.depth == 2 and trend.last.depth == 8     # sorted by depth, the middle one ignored
    assert trend.change == pytest.approx(last - 0.50)
    assert trend.outcome == outcome
    if outcome != "unknown":
        assert trend.half_width == pytest.approx(2 * math.sqrt(2) * se)


def test_best_losses_take_the_seed_mean_argmin_and_its_standard_error():
    rows = []
    for lr, losses in ((2.0 ** -8, (0.50, 0.54)), (2.0 ** -7, (0.45, 0.47)), (2.0 ** -6, (math.inf, math.inf))):
        for seed, loss in enumerate(losses):
            status = "diverged" if math.isinf(loss) else "completed"
            rows.append({"id": f"{lr}-{seed}", "parameterization": "mup", "width": 64, "depth": 2, "lr": lr,
                         "seed": seed, "status": status, "final_eval_loss": None if math.isinf(loss) else loss})
    (best,) = best_losses(pd.DataFrame(rows))
    assert best.log2_lr == -7 and best.loss == pytest.approx(0.46)
    assert best.se == pytest.approx(np.std([0.45, 0.47], ddof=1) / math.sqrt(2))


def _probe_frames(values: dict[str, dict[int, list[float]]]):
    """Trials at one LR (the best of every scale) and their final λ probes, per parameterization × width × seed."""
    trials, metrics, optima = [], [], []
    for param, by_width in values.items():
        for width, per_seed in by_width.items():
            optima.append(type("O", (), {"parameterization": param, "width": width, "depth": 2,
                                         "grid_log2_lr": -8.0})())
            for seed, value in enumerate(per_seed):
                tid = f"{param}-{width}-{seed}"
                trials.append({"id": tid, "parameterization": param, "width": width, "depth": 2,
                               "lr": 2.0 ** -8, "seed": seed})
                metrics += [{"trial_id": tid, "step": 0, "name": "sharpness/adam", "value": 1.0},
                            {"trial_id": tid, "step": 100, "name": "sharpness/adam", "value": value}]
    report = type("R", (), {"optima": optima})()
    return pd.DataFrame(trials), pd.DataFrame(metrics), report


def test_spread_difference_finds_the_collapse_it_was_given():
    rng = np.random.default_rng(0)
    noise = lambda: list(1 + 0.02 * rng.standard_normal(4))  # noqa: E731
    spread = {"sp": {w: [x * w / 64 for x in noise()] for w in (64, 128, 256)},
              "mup": {w: noise() for w in (64, 128, 256)}}
    trials, metrics, report = _probe_frames(spread)
    s = spread_difference(trials, metrics, report, "adam")
    means = np.array([1.0, 2.0, 4.0])
    assert s.step == 100
    assert s.cv["sp"] == pytest.approx(means.std(ddof=1) / means.mean(), rel=0.03)
    assert s.cv["mup"] < 0.05
    assert s.low > 0 and s.outcome == "μP spreads less"


def test_spread_difference_claims_nothing_when_both_collapse():
    rng = np.random.default_rng(1)
    same = {p: {w: list(1 + 0.05 * rng.standard_normal(4)) for w in (64, 128, 256)} for p in ("sp", "mup")}
    s = spread_difference(*_probe_frames(same), "adam")
    assert s.low < 0 < s.high and s.outcome == "no clear difference"
    assert spread_difference(*_probe_frames(same), "raw") is None       # no probes of that operator


def test_prediction_grid_brackets_the_prediction_at_the_new_width_with_the_same_base():
    check = PROFILES["full"].prediction
    study = type("S", (), {"study": PROFILES["full"].studies[0], "spec": None})()
    from sweeps.spec import parse_spec
    study.spec = parse_spec(study.study.spec)
    spec = _prediction_spec(study, check, "mup", -10.3)
    assert spec.widths == [4 * max(study.spec.widths)] and spec.base_width == study.spec.base_width
    log2 = [math.log2(lr) for lr in spec.lr.lrs()]
    assert log2[0] <= -10.3 - check.half_range and log2[-1] >= -10.3 + check.half_range
    assert np.allclose(np.diff(log2), check.step)
    assert [p.label for p in spec.parameterizations] == ["mup"] and spec.sharpness.probes == 0


@pytest.mark.slow
def test_smoke_profile_writes_the_report_from_the_analysis(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'v.db'}")
    result = run_validation(PROFILES["smoke"], store, LocalExecutor(), lambda line: None)
    path = write_report(result, tmp_path / "out")
    text = path.read_text()
    for r in result.studies:
        assert r.status == "completed" and f"Sweep `{r.sweep_id}`" in text
        fresh = application.report(store, r.sweep_id)
        for o in fresh.optima:        # the table holds the analysis' own numbers
            assert f"| {o.parameterization} | {o.width if r.study.claim == 'width' else o.depth} | " \
                   f"{o.log2_lr:+.2f} |" in text
    assert result.predictions and result.predictions[0].width == 2 * 32
    images = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert images == ["depth-resmlp-best-loss.png", "depth-resmlp-curves.png", "depth-resmlp-optimum.png",
                      "prediction.png", "sharpness.png", "width-mlp-curves.png", "width-mlp-optimum.png"]
    for name in images:
        data = (tmp_path / "out" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000 and f"]({name})" in text
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [s["key"] for s in summary["studies"]] == ["width-mlp", "depth-resmlp"]
    assert {c["parameterization"] for c in summary["studies"][1]["claims"]} == {"mup", "completep"}


def test_cli_names_an_unknown_study(capsys):
    assert cli_main(["validate", "--profile", "smoke", "--only", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--only" in err and "nope" in err and "width-mlp" in err
