"""Adaptive LR search vs the full grid on the same sweep, as ratios measured in one run.

Runs a spec twice on the same Ray workers into a fresh store: once as its full grid, once with
``search: {}`` (sweeps/search/adaptive.py, default settings). Prints, per parameterization and scale,
both optima with their 95% intervals and whether the intervals overlap, then:
  * trials adaptive / grid, the same against a grid as fine as the search's lattice, and trial-seconds
    adaptive / grid (the compute actually spent),
  * wall time adaptive / grid (the adaptive search runs in rounds, so it keeps fewer workers busy),
  * the transfer-law slope and verdict from each.
Exits 1 when an optimum disagrees (intervals do not overlap).

    .venv/bin/python bench/adaptive.py [--spec sweeps/examples/demo.yaml] [--workers 2]
                                       [--store out/bench_adaptive.db] [--reuse]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sweeps import application
from sweeps.analysis import fit_transfer_law, optimal_lr_per_scale, verdict
from sweeps.run import RayExecutor
from sweeps.search.adaptive import Lattice
from sweeps.spec import load_spec, parse_spec
from sweeps.store import Store

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "sweeps" / "examples" / "demo.yaml"))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--store", default="out/bench_adaptive.db")
    parser.add_argument("--reuse", action="store_true", help="keep the store's finished sweeps (wall times then "
                                                              "measure nothing)")
    args = parser.parse_args()
    console = Console(width=None if sys.stdout.isatty() else 120)
    grid_spec = load_spec(args.spec)
    adaptive_spec = parse_spec({**grid_spec.model_dump(mode="json"), "search": {}})
    if not args.reuse:
        Path(args.store).unlink(missing_ok=True)
    store = Store(f"sqlite:///{args.store}")
    executor = RayExecutor(workers=args.workers)
    runs = {}
    try:
        for name, spec in (("grid", grid_spec), ("adaptive", adaptive_spec)):
            start = time.perf_counter()
            sweep_id = application.launch(store, spec).sweep_id
            application.run(store, sweep_id, executor)
            trials = store.trials_frame(sweep_id)
            runs[name] = dict(id=sweep_id, wall=time.perf_counter() - start, trials=trials,
                              optima={(o.parameterization, o.width, o.depth): o for o in optimal_lr_per_scale(trials)})
            console.print(f"{name}: {len(trials)} trials in {runs[name]['wall']:.0f} s (sweep {sweep_id})")
    finally:
        executor.close()
    grid, adaptive = runs["grid"], runs["adaptive"]
    table = Table(title=f"{grid_spec.name}: log2 η* per scale (95% interval), full grid vs adaptive search",
                  title_justify="left")
    for col in ("scale", "grid", "adaptive", "agree", "trials grid", "trials adaptive"):
        table.add_column(col, justify="left" if col == "scale" else "right")
    agree_all = True
    for key, g in grid["optima"].items():
        a = adaptive["optima"].get(key)
        agree = a is not None and max(a.log2_low, g.log2_low) <= min(a.log2_high, g.log2_high)
        agree_all &= agree
        counts = [int(((t["parameterization"] == key[0]) & (t["width"] == key[1]) & (t["depth"] == key[2])).sum())
                  for t in (grid["trials"], adaptive["trials"])]
        table.add_row(f"{key[0]} {key[1]}×{key[2]}", f"{g.log2_lr:+.2f} [{g.log2_low:+.2f}, {g.log2_high:+.2f}]",
                      "missing" if a is None else f"{a.log2_lr:+.2f} [{a.log2_low:+.2f}, {a.log2_high:+.2f}]",
                      "yes" if agree else "NO", str(counts[0]), str(counts[1]))
    console.print(table)
    n = {k: len(r["trials"]) for k, r in runs.items()}
    seconds = {k: float(r["trials"]["seconds"].sum()) for k, r in runs.items()}
    console.print(f"trials adaptive / grid:        {n['adaptive']} / {n['grid']} = {n['adaptive'] / n['grid']:.2f}")
    lattice = Lattice(*grid_spec.lr.log2_range(), adaptive_spec.search.step).coarse(adaptive_spec.search.step)
    fine = n["grid"] // len(grid_spec.lr.lrs()) * len(lattice)
    console.print(f"trials adaptive / a grid at the search's {adaptive_spec.search.step}-octave resolution: "
                  f"{n['adaptive']} / {fine} = {n['adaptive'] / fine:.2f}")
    console.print(f"trial-seconds adaptive / grid: {seconds['adaptive']:.0f} / {seconds['grid']:.0f} = "
                  f"{seconds['adaptive'] / seconds['grid']:.2f}")
    console.print(f"wall adaptive / grid:          {adaptive['wall']:.0f} / {grid['wall']:.0f} = "
                  f"{adaptive['wall'] / max(grid['wall'], 1e-9):.2f}")
    for name, r in runs.items():
        fits = fit_transfer_law(list(r["optima"].values()), grid_spec.base_width, grid_spec.resolved_base_depth())
        for param, fit in fits.items():
            said = verdict(fit, optima=list(r["optima"].values())).get("width")
            console.print(f"{name:>8} {param}: width {said.text if said else '-'}")
    console.print("[green]every optimum agrees within its interval[/]" if agree_all else "[red]optima disagree[/]")
    return 0 if agree_all else 1


if __name__ == "__main__":
    raise SystemExit(main())
