"""Writes the validation report: ``report.md`` and its PNG figures, all from the run's own numbers."""

from __future__ import annotations

import json
import math
import platform
from pathlib import Path

import torch
import yaml

from sweeps.validation import figures
from sweeps.validation.run import PredictionResult, StudyResult, Validation, summary, sweeps_s


def _interval(lo: float, hi: float) -> str:
    def end(x: float) -> str:
        return "−∞" if x == -math.inf else "+∞" if x == math.inf else f"{x:+.2f}"
    return f"[{end(lo)}, {end(hi)}]"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|",
            *("| " + " | ".join(r) + " |" for r in rows), ""]


def _counts(r: StudyResult) -> str:
    counts = r.trials["status"].value_counts().to_dict()
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))


def _study(r: StudyResult, out: Path) -> list[str]:
    axis = "width" if r.study.claim == "width" else "depth"
    lines = [f"## {r.study.title}", "", r.study.why, "",
             f"Sweep `{r.sweep_id}` ({r.status}; {_counts(r)}; {r.wall_s / 60:.1f} min here). "
             f"Open it with `paramz serve --store …` at `/dashboards/sweep.html?id={r.sweep_id}`.", ""]
    best = {(b.parameterization, b.width, b.depth): b for b in r.bests}
    rows = []
    for o in r.report.optima:
        b = best.get((o.parameterization, o.width, o.depth))
        loss = "—" if b is None else (f"{b.loss:.4f} ± {b.se:.4f}" if math.isfinite(b.se) else f"{b.loss:.4f}")
        rows.append([o.parameterization, str(o.width if axis == "width" else o.depth), f"{o.log2_lr:+.2f}",
                     _interval(o.log2_low, o.log2_high), o.method, str(o.n_seeds), loss, ", ".join(o.flags) or ""])
    lines += ["Optimal LR per scale (log2; mean of the seeds' parabola vertices, 95% interval) and the best "
              "seed-mean loss there (± one standard error over seeds):", ""]
    lines += _table(["parameterization", axis, "log2 η*", "95% interval", "interval from", "seeds",
                     "best loss", "flags"], rows)
    law_rows = []
    for param, axes in r.report.verdicts.items():
        v = axes.get(axis)
        if v is None:
            continue
        slope = "—" if v.slope is None else f"{v.slope:+.3f}"
        span = "—" if v.low is None or v.high is None else _interval(v.low, v.high)
        law_rows.append([param, slope, span, f"**{v.outcome}**"])
    lines += [f"Transfer law log2 η* = c + s·log2({axis}/base): slope s in octaves per doubling of {axis}, "
              f"tolerance ±{r.report.tolerance:.2f}:", ""]
    lines += _table(["parameterization", "slope", "95% interval", "verdict"], law_rows)
    for param, axes in r.report.verdicts.items():
        v = axes.get(axis)
        if v is not None:
            lines.append(f"- {param}: {v.text}")
            lines += [f"  - would settle it: {s}" for s in v.settle]
        fit = r.report.fits.get(param)
        if fit is not None:
            lines += [f"  - left out {w}×{d}: {why}" for w, d, why in fit.left_out]
    lines += ["", "What the study shows:", ""]
    for c in r.claims:
        mark = "✅" if c.shown else "❌"
        expectation = "should transfer" if c.expected == "transfers" else "should drift or degrade"
        lines.append(f"- {mark} **{c.parameterization}** ({expectation}): {c.text}")
    if r.failed_trials:
        lines.append(f"- ⚠ {r.failed_trials} trials failed (see the sweep page)")
    key = r.study.key
    lines += ["", f"![loss against LR]({figures.curves(r, out / f'{key}-curves.png').name})",
              f"![optimum against {axis}]({figures.optimum(r, out / f'{key}-optimum.png').name})"]
    if axis == "depth":
        lines.append(f"![best loss against depth]({figures.best_loss(r, out / f'{key}-best-loss.png').name})")
    lines.append("")
    if r.study.sharpness:
        lines += _sharpness(r, out)
    return lines


def _sharpness(r: StudyResult, out: Path) -> list[str]:
    lines = ["### Sharpness across widths (super consistency)", "",
             "λ_max of the training loss's Hessian (Lanczos), probed at log-spaced steps in every trial, for "
             "three operators: the raw Hessian H, D·H with D the per-layer LR ratios of the parameterization, and "
             "D/(√v̂+ε)·H, the operator Adam actually steps with. Under μP the theory says trajectories "
             "collapse across widths; under SP they spread. "
             "The statistic: the coefficient of variation (CV) of the seed-mean λ_max across widths, at each "
             "width's best LR, at the last probe step; SP − μP with a 95% bootstrap interval over seeds.", ""]
    rows = [[s.operator, str(s.step), f"{s.cv.get('sp', math.nan):.3f}", f"{s.cv.get('mup', math.nan):.3f}",
             f"{s.difference:+.3f}", _interval(s.low, s.high), f"**{s.outcome}**"] for s in r.spreads]
    lines += _table(["operator", "step", "CV SP", "CV μP", "SP − μP", "95% interval", "outcome"], rows)
    fixed = [c for c in r.report.consistency if c.mode == "fixed-lr" and c.cv_final is not None]
    if fixed:
        lines += ["At one common LR for all widths (the report's fixed-LR statistic):", ""]
        lines += _table(["parameterization", "operator", "LR", "CV at the last step"],
                        [[c.parameterization, c.operator, f"{c.lr:.2e}" if c.lr else "—", f"{c.cv_final:.3f}"]
                         for c in fixed])
    lines += [f"![sharpness against step]({figures.sharpness(r, out / 'sharpness.png').name})", ""]
    return lines


def _prediction(preds: list[PredictionResult], out: Path) -> list[str]:
    if not preds:
        return []
    p0 = preds[0]
    lines = [f"## Prediction at width {p0.width}, beyond the swept range", "",
             f"The product's main claim tested directly: from the width study's law alone, η* is predicted at "
             f"width {p0.width} ({p0.width // max(p0.predicted.fit.widths)}× the largest swept width), then "
             f"measured there on a narrow grid around the prediction ({len(p0.spec.lr.lrs())} LRs "
             f"{p0.spec.lr.log2_step:g} octave apart, {len(p0.spec.seeds)} seeds). Under μP the prediction should "
             "stay near the base width's optimum (within the tolerance per doubling); under SP it should move, and "
             "in both the measurement should land inside the predicted interval.", ""]
    rows = []
    for p in preds:
        m = p.measured
        measured = "—" if m is None else f"{m.log2_lr:+.2f} {_interval(m.log2_low, m.log2_high)}"
        inside = {True: "✅ inside", False: "❌ outside", None: "— (no interior optimum)"}[p.inside]
        rows.append([p.parameterization, f"{p.base_log2_lr:+.2f}",
                     f"{p.predicted.log2_lr:+.2f} "
                     f"{_interval(math.log2(p.predicted.lr_low), math.log2(p.predicted.lr_high))}",
                     measured, "—" if p.miss is None else f"{p.miss:+.2f}",
                     "—" if p.z is None else f"{p.z:+.2f}", inside])
    lines += _table(["parameterization", "log2 η* at base width", "predicted log2 η* [95%]",
                     "measured log2 η* [95%]", "miss (octaves)", "miss / combined s.e.", "measured in predicted?"],
                    rows)
    for p in preds:
        rests = ", ".join(f"{w}×{d}" for w, d in p.predicted.rests_on)
        lines.append(f"- {p.parameterization}: the prediction rests on {rests}; sweep `{p.sweep_id}` "
                     f"({p.wall_s / 60:.1f} min)")
        lines += [f"  - {w}" for w in p.predicted.warnings]
    lines += ["", f"![prediction check]({figures.prediction(preds, out / 'prediction.png').name})", ""]
    return lines


def headline(v: Validation) -> list[str]:
    """One line per claim: what the run showed (the README quotes these)."""
    out = []
    for claim, title in (("width", "Width (μP transfers, SP drifts)"), ("depth", "Depth (CompleteP/depth-μP "
                                                                                  "transfer, μP alone fails)")):
        rs = [r for r in v.studies if r.study.claim == claim]
        if rs:
            shown = sum(c.shown for r in rs for c in r.claims)
            total = sum(len(r.claims) for r in rs)
            out.append(f"{title}: {shown} of {total} expectations shown across "
                       f"{', '.join(r.study.key for r in rs)}")
    spreads = [s for r in v.studies for s in r.spreads]
    if spreads:
        out.append("Sharpness (μP collapses across widths, SP spreads): "
                   + "; ".join(f"{s.operator}: {s.outcome}" for s in spreads))
    for p in v.predictions:
        out.append(f"Prediction at width {p.width}, {p.parameterization}: predicted {p.predicted.log2_lr:+.2f}, "
                   f"measured {'—' if p.measured is None else f'{p.measured.log2_lr:+.2f}'} "
                   f"({ {True: 'inside', False: 'outside', None: 'no interior optimum'}[p.inside]} the 95% interval)")
    return out


def write_report(v: Validation, out: Path) -> Path:
    """``out/report.md`` with its figures and ``out/summary.json``; returns the report's path."""
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# Validation: the papers' claims, reproduced by paramz itself", "",
             f"Generated by `make validate` (profile `{v.profile.name}`) on {v.started}. The sweeps took "
             f"{sweeps_s(v) / 60:.0f} min on {v.workers} worker{'s' if v.workers != 1 else ''} (first trial start to "
             f"last finish, summed over the sweeps; torch {torch.__version__}, {platform.machine()}, CPU). "
             "Every number below is computed by the normal engine and analysis "
             "(`sweeps.application`); rerun `make validate` to regenerate this page (it resumes from its store "
             "`out/validate.db`).", "", "## Summary", ""]
    lines += [f"- {h}" for h in headline(v)]
    lines += ["", "Verdicts are three-valued on the whole 95% interval of the fitted slope: **transfers** when it "
              f"lies inside ±{v.studies[0].report.tolerance:.2f} octave per doubling, **drifts** when it lies "
              "wholly outside, else **inconclusive**.", ""] if v.studies else []
    for r in v.studies:
        lines += _study(r, out)
    lines += _prediction(v.predictions, out)
    lines += ["## Settings", "", "Each study's spec, as run (`paramz sweep run` takes these files as they are):", ""]
    for r in v.studies:
        lines += [f"<details><summary>{r.study.key}</summary>", "", "```yaml",
                  yaml.safe_dump(r.study.spec, sort_keys=False).rstrip(), "```", "", "</details>", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary(v), indent=1), encoding="utf-8")
    return path
