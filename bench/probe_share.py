"""The share of a trial that its sharpness probes take, at the default schedule, by trial length.

A trial of the demo's shape (μP MLP, depth 2, batch 32, log2 η −10) at widths 256 (the base: the
LR-scaled operator is the raw one) and 1024, with the spec's default probes (`SharpnessSpec()`: 8
log-spaced probes of the raw and LR-scaled operators to a residual of 1e-2·λ), run for 300, 1,000 and
3,000 steps in this process on one thread. Printed: probe seconds over the trial's seconds, from the
trial's own ``time/*`` metrics. Each trial solves its own step-0 probe (nothing shared across LRs).

    .venv/bin/python bench/probe_share.py
"""

from __future__ import annotations

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
    console = Console(width=None if sys.stdout.isatty() else 120)
    default = SharpnessSpec()
    base = {c.width: c for c in expand(load_spec(DEMO))
            if c.label == "mup" and c.seed == 0 and abs(c.lr - 2 ** -10) < 1e-12}
    run_trial(base[256].model_copy(update={"steps": 20}))   # the process's first optimizer and probe: warm-up
    table = Table(title=f"probes at the default schedule ({default.probes} probes, {', '.join(default.variants)}, "
                        f"tol {default.tol:g}) as a share of the trial")
    for col in ("width", "steps", "probe s", "trial s", "share"):
        table.add_column(col, justify="right")
    for width in (256, 1024):
        for steps in (300, 1000, 3000):
            trial_module._INITIAL_PROBES.clear()
            result = run_trial(base[width].model_copy(update={"sharpness": default, "steps": steps}))
            times = {name.removeprefix("time/"): value for _, name, value in result.metrics if name.startswith("time/")}
            total = sum(times.values())
            probe = times["probe"]
            table.add_row(str(width), str(steps), f"{probe:.2f}", f"{total:.2f}", f"{probe / total:.1%}")
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
