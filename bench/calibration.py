"""Calibration of the analysis on synthetic sweeps with a known answer, printed as coverage rates.

Per setting (seeds per scale, the seed scatter of the optimum, loss noise, grid step, asymmetry of
the loss curve), ``--draws`` synthetic sweeps of five widths (sweeps/analysis/synthetic.py): how often
the nominal 95% interval of the optimum holds the true optimum, its median and smallest width, and how
often the 95% interval of the law's slope holds the true slope. The first block is the setting the
test suite asserts (tests/sweeps/test_calibration.py: 90–98%); the others show where the intervals
lean: a one-seed sweep *assumes* ½ octave of seed scatter, so it under-covers when seeds scatter more.
Then the verdict rates on sweeps with a known drift.

    .venv/bin/python bench/calibration.py [--draws 200]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from rich.console import Console
from rich.table import Table

from sweeps.analysis import TOLERANCE, fit_transfer_law, optimal_lr_per_scale, verdict
from sweeps.analysis.synthetic import coverage, synthetic_trials

SETTINGS = [
    ("asserted by the tests", dict(vertex_scatter=0.5, noise=0.005)),
    ("half-octave grid", dict(vertex_scatter=0.5, noise=0.005, grid=tuple(np.arange(-16.0, -3.0, 0.5)))),
    ("quiet seeds (0.2 octave)", dict(vertex_scatter=0.2, noise=0.005)),
    ("noisy seeds (1 octave)", dict(vertex_scatter=1.0, noise=0.005)),
    ("scatter shrinking with width (0.6→0.15)", dict(vertex_scatter=lambda w, d: 0.6 * (64 / w) ** 0.5, noise=0.005)),
    ("2% loss noise", dict(vertex_scatter=0.5, noise=0.02)),
    ("asymmetric curve (2× steeper above)", dict(vertex_scatter=0.5, noise=0.005, asymmetry=2.0)),
]


def verdict_rates(slope: float, seeds: int, widths: tuple[int, ...], draws: int) -> dict[str, float]:
    counts: dict[str, int] = {}
    rng = np.random.default_rng([round(1000 + 100 * slope), seeds])
    for _ in range(draws):
        trials = synthetic_trials(lambda w, d: -9 + slope * math.log2(w / widths[0]),
                                  grid=np.arange(-18.0, 0.0, 1.0), widths=widths, seeds=range(seeds), rng=rng)
        optima = optimal_lr_per_scale(trials)
        fit = fit_transfer_law(optima, widths[0], 2)["p"]
        outcome = verdict(fit, optima=optima)["width"].outcome
        counts[outcome] = counts.get(outcome, 0) + 1
    return {k: v / draws for k, v in counts.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    args = parser.parse_args()
    console = Console()
    table = Table(title=f"95% intervals on synthetic sweeps ({args.draws} sweeps × 5 widths per row)",
                  title_justify="left")
    for col in ("setting", "seeds", "optimum covered", "median width", "min width", "slope covered"):
        table.add_column(col, justify="left" if col == "setting" else "right")
    ok = True
    for name, model in SETTINGS:
        for seeds in (1, 2, 3, 5):
            c = coverage(seeds, draws=args.draws, seed=seeds, **model)  # type: ignore[arg-type]
            if name.startswith("asserted"):
                ok &= 0.90 <= c.covered <= 0.98 and c.min_width > 0
            table.add_row(name if seeds == 1 else "", str(seeds), f"{c.covered:.3f}", f"{c.median_width:.2f}",
                          f"{c.min_width:.2f}", f"{c.slope_covered:.3f}")
    console.print(table)
    rates = Table(title=f"verdicts (tolerance ±{TOLERANCE:.2f} octave per doubling) on sweeps with a known slope",
                  title_justify="left")
    for col in ("true slope", "seeds", "widths", "transfers", "inconclusive", "drifts"):
        rates.add_column(col, justify="right")
    for slope, seeds, widths in ((0.0, 5, (64, 128, 256, 512, 1024, 2048)), (0.0, 3, (64, 128, 256, 512, 1024)),
                                 (0.0, 1, (64, 128, 256)), (TOLERANCE, 3, (64, 128, 256, 512, 1024, 2048)),
                                 (-1.0, 3, (64, 128, 256, 512, 1024, 2048)), (-1.0, 1, (64, 128, 256))):
        r = verdict_rates(slope, seeds, widths, max(args.draws // 4, 20))
        rates.add_row(f"{slope:+.2f}", str(seeds), f"{widths[0]}–{widths[-1]}",
                      *(f"{r.get(k, 0.0):.2f}" for k in ("transfers", "inconclusive", "drifts")))
    console.print(rates)
    console.print("calibrated (90–98% in the asserted setting)" if ok else "[red]NOT calibrated[/]")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
