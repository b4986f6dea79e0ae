"""The share of a trial that its sharpness probes take, at the default schedule, by trial length.

A trial of the demo's shape (μP MLP, depth 2, batch 32, log2 η −10) at widths 256 (the base: the
LR-scaled operator is the raw one, one solve a probe) and 1024 (two), with the spec's default probes
(`SharpnessSpec()`: raw and LR-scaled operators to a residual of 1e-2·λ, as many log-spaced probes as
the 15% budget affords by its estimate), and for reference with 8 probes (the default before the
budget), run for 300, 1,000 and 3,000 steps in this process on one thread. Printed: the probe count,
probe seconds over the trial's seconds (the trial's own ``time/*`` metrics), and the estimate's
seconds of a solve in training steps (`SharpnessSpec.SOLVE_STEPS` should stay above every row).
Each trial solves its own step-0 probe (nothing shared across LRs); a short trial per width first maps
the Krylov memory, as a sweep worker's earlier trials have, and the imports' objects are frozen out of
the garbage collector, as in a worker. Both widths get the same count (a sweep's trials probe the same
steps); at 256 each probe makes one solve fewer.

    .venv/bin/python bench/probe_share.py
"""

from __future__ import annotations

import gc
import sys
import warnings
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from sweeps.run import run_trial
from sweeps.run import trial as trial_module
from sweeps.search.grid import expand
from sweeps.spec import load_spec
from sweeps.spec.sweep import SharpnessSpec

DEMO = Path(__file__).resolve().parents[1] / "sweeps" / "examples" / "demo.yaml"


def main() -> int:
    warnings.filterwarnings("ignore", category=UserWarning)
    torch.set_num_threads(1)
    gc.collect()
    gc.freeze()   # as a sweep worker does: a full collection of the imports' objects would land in some probe
    console = Console(width=None if sys.stdout.isatty() else 120)
    default = SharpnessSpec()
    base = {c.width: c for c in expand(load_spec(DEMO))
            if c.label == "mup" and c.seed == 0 and abs(c.lr - 2 ** -10) < 1e-12}
    table = Table(title=f"probes at the default schedule ({', '.join(default.variants)}, tol {default.tol:g}, "
                        f"budget {default.budget:.0%}) as a share of the trial; 8 probes for reference")
    for col in ("width", "steps", "probes", "probe s", "trial s", "share", "8 probes: share",
                "a solve, in steps (max)"):
        table.add_column(col, justify="right")
    worst = 0.0
    for width in (256, 1024):
        run_trial(base[width].model_copy(update={"steps": 20}))   # the worker's earlier trials: memory mapped
        for steps in (300, 1000, 3000):
            row: list[str] = [str(width), str(steps)]
            per_solve = 0.0
            for schedule in (default, default.model_copy(update={"probes": 8})):
                trial_module._INITIAL_PROBES.clear()
                result = run_trial(base[width].model_copy(update={"sharpness": schedule, "steps": steps}))
                times = {name.removeprefix("time/"): v for _, name, v in result.metrics if name.startswith("time/")}
                solves = sum(1 for _, name, v in result.metrics if name.startswith("hvps/") and v > 0)
                total, probe = sum(times.values()), times["probe"]
                per_solve = max(per_solve, probe / ((total - probe) / steps) / max(solves, 1))
                count = len({s for s, name, _ in result.metrics if name == "sharpness/raw"})
                row += [str(count), f"{probe:.2f}", f"{total:.2f}", f"{probe / total:.1%}"] if schedule is default \
                    else [f"{probe / total:.1%}"]
            worst = max(worst, per_solve)
            table.add_row(*row, f"{per_solve:.1f}")
    console.print(table)
    console.print(f"the estimate counts {SharpnessSpec.SOLVE_STEPS:g} training steps a solve; "
                  f"the most measured here: {worst:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
