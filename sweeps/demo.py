"""`make demo`: coordinate checks of all four parameterizations, verdict tables and a plot.

Until the sweep engine lands this is the product's main job end to end: SP vs μP on width
(an MLP, 8× width), and μP vs depth-μP vs CompleteP on depth (a residual MLP, 16× depth).
Writes ``out/coord_check_width.html`` and ``out/coord_check_depth.html``.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from rich.console import Console

import paramz
from sweeps.cli import verdict_table
from sweeps.plots import coord_check_figure, write_html


def main(out_dir: str = "out") -> int:
    torch.set_num_threads(1)
    console = Console()
    start = time.perf_counter()
    width = [paramz.coord_check("mlp", p, widths=[64, 128, 256, 512, 1024], depths=[2], steps=5, lr=1e-2, seeds=2)
             for p in ("sp", "mup")]
    depth = [paramz.coord_check("resmlp", p, widths=[128], depths=[2, 4, 8, 16, 32], steps=10, lr=1e-3, seeds=2)
             for p in ("mup", "depth-mup", "completep")]
    for result in width + depth:
        console.print(verdict_table(result))
    for result in depth:
        by_depth: dict[int, list[float]] = {}
        for u in result.updates:
            by_depth.setdefault(u.depth, []).append(u.rel_update)
        console.print(f"{result.parameterization:>10} per-block ‖ΔW‖/‖W‖ by depth: " + ", ".join(
            f"L={d}: {sum(v) / len(v):.3f}" for d, v in sorted(by_depth.items())))
    for name, results in (("width", width), ("depth", depth)):
        path = write_html(coord_check_figure(results), Path(out_dir) / f"coord_check_{name}.html")
        console.print(f"plot: {path}")
    console.print(f"done in {time.perf_counter() - start:.1f} s")
    expected = [False, True, False, True, True]  # SP and μP-on-depth must fail; the rest must pass
    ok = [r.passed for r in width + depth] == expected
    console.print("[green]verdicts as the theory predicts[/]" if ok else "[red]unexpected verdicts[/]")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
