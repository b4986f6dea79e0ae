"""One sweep three ways in one run: paramz, the plain loop a user would write, and a Ray Tune grid.

For the same trials (the demo spec by default), measured back to back on this machine:

* **loop**: ``for cfg in trials: run_trial(cfg)`` in this process, one torch thread (the best a plain
  loop does on one core), and again with torch's default threads (``--loop-threads``, the cores: what a
  user's loop gets without setting anything).
* **paramz**: `sweeps.application` on a fresh SQLite store with the Ray executor (``--workers``
  actors), Ray's start included, as ``paramz sweep run`` does it.
* **tune**: ``ray.tune.Tuner`` over ``tune.grid_search`` of the same configs, a function trainable
  calling ``run_trial`` and reporting its final loss, Tune's defaults (1 CPU per trial).

Printed: wall time and ratios; forward+backward FLOPs of the sweep (torch's FLOP counter on one
training step per shape × the steps each trial ran) over wall time against ``workers`` × the
single-thread fp32 matmul peak measured in the same run; where each paramz trial spent its time
(the trials' ``time/*`` metrics) and the dispatch/store overhead left over; and whether paramz and
the loop agree on every final loss (bitwise: the same code on the same arithmetic).

    .venv/bin/python bench/sweep.py                        # the demo spec: ~25 minutes on 2 cores
    .venv/bin/python bench/sweep.py --seeds 1 --skip-tune  # a quarter of it, two ways
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table
from torch.utils.flop_counter import FlopCounterMode

import paramz
from sweeps import application
from sweeps.run import RayExecutor, run_trial
from sweeps.search.grid import expand
from sweeps.spec import TrialConfig, load_spec, make_task, parse_spec
from sweeps.store import Store

DEMO = Path(__file__).resolve().parents[1] / "sweeps" / "examples" / "demo.yaml"


def matmul_peak(n: int = 1024, repeats: int = 5) -> float:
    """Single-thread fp32 GFLOP/s of an n×n matmul, best of ``repeats``."""
    torch.set_num_threads(1)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(4):
            a @ b
        best = min(best, (time.perf_counter() - start) / 4)
    return 2 * n ** 3 / best / 1e9


def step_flops(cfg: TrialConfig) -> int:
    """Forward+backward FLOPs of one training step of this trial's shape."""
    task = make_task(cfg.task.name, cfg.task.options)
    model = paramz.models.build(cfg.model.family, width=cfg.width, depth=cfg.depth, **cfg.model.dims,
                                **task.model_dims)
    x, y = task.train_batch(0, cfg.batch_size, cfg.seed)
    with FlopCounterMode(display=False) as counter:
        task.loss(model(x), y).backward()
    return int(counter.get_total_flops())


def run_loop(configs: list[TrialConfig], threads: int = 1) -> tuple[float, dict[str, float | None]]:
    torch.set_num_threads(threads)
    try:
        start = time.perf_counter()
        losses = {cfg.id: run_trial(cfg).final_eval_loss for cfg in configs}
        return time.perf_counter() - start, losses
    finally:
        torch.set_num_threads(1)


def run_paramz(spec_data: dict, workers: int, folder: Path) -> tuple[float, str, Store]:
    start = time.perf_counter()
    store = Store(f"sqlite:///{folder / 'bench.db'}")
    spec = parse_spec(spec_data)
    sweep_id = application.launch(store, spec).sweep_id
    executor = RayExecutor(workers=workers)
    try:
        application.run(store, sweep_id, executor)
    finally:
        executor.close()
    return time.perf_counter() - start, sweep_id, store


def _tune_trial(config: dict) -> None:
    import torch as t
    from ray import tune

    t.set_num_threads(1)
    point = config["point"]
    result = run_trial(TrialConfig.stored(point["cfg"]))
    tune.report({"final_eval_loss": result.final_eval_loss if result.final_eval_loss is not None else math.nan,
                 "paramz_id": point["id"]})   # ("trial_id" is Tune's own key)


def run_tune(configs: list[TrialConfig], workers: int,
             folder: Path) -> tuple[float, dict[str, float | None], int]:
    import ray
    from ray import tune

    start = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        points = [{"id": c.id, "cfg": c.model_dump_json()} for c in configs]
        tuner = tune.Tuner(_tune_trial, param_space={"point": tune.grid_search(points)},
                           run_config=tune.RunConfig(storage_path=str(folder / "tune"), verbose=0))
        grid = tuner.fit()
    finally:
        ray.shutdown()
    wall = time.perf_counter() - start
    losses: dict[str, float | None] = {}
    failed = [r.error for r in grid if r.error is not None]
    for r in grid:
        if r.error is None:
            value = r.metrics.get("final_eval_loss")
            losses[r.metrics["paramz_id"]] = None if value is None or math.isnan(value) else value
    if failed:   # the other ways' numbers still print; a wall time with failed trials is not comparable
        print(f"{len(failed)} of {len(points)} Tune trials failed; the first: {failed[0]!r}"[:2000], file=sys.stderr)
    return wall, losses, len(failed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(DEMO))
    parser.add_argument("--seeds", type=int, help="keep only the first N seeds of the spec")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--skip-tune", action="store_true")
    parser.add_argument("--skip-loop", action="store_true")
    parser.add_argument("--loop-threads", type=int, default=os.cpu_count() or 2,
                        help="threads of the second plain loop (torch's default: the cores; 0: skip it)")
    args = parser.parse_args()
    console = Console(width=None if sys.stdout.isatty() else 120)
    data = load_spec(args.spec).model_dump(mode="json")
    if args.seeds:
        data["seeds"] = data["seeds"][:args.seeds]
    spec = parse_spec(data)
    configs = expand(spec)
    console.print(f"{spec.name}: {len(configs)} trials, {args.workers} workers")
    peak = matmul_peak()
    shapes: dict[tuple, int] = {}
    for cfg in configs:
        key = (cfg.label, cfg.width, cfg.depth)
        if key not in shapes:
            shapes[key] = step_flops(cfg)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        walls: dict[str, float] = {}
        paramz_wall, sweep_id, store = run_paramz(data, args.workers, folder)
        walls["paramz"] = paramz_wall
        trials = store.trials_frame(sweep_id)
        times = store.metrics_frame(sweep_id, names_like="time/")
        ours = dict(zip(trials["id"], trials["final_eval_loss"], strict=True))
        steps_done = dict(zip(trials["id"], trials["steps_done"], strict=True))
        others: dict[str, dict[str, float | None]] = {}
        if not args.skip_loop:
            walls["loop"], others["loop"] = run_loop(configs)
            if args.loop_threads > 1:
                way = f"loop, {args.loop_threads} threads"
                walls[way], others[way] = run_loop(configs, args.loop_threads)
        if not args.skip_tune:
            wall, losses, failed = run_tune(configs, args.workers, folder)
            way = "tune" if not failed else f"tune ({failed} trials failed: not comparable)"
            walls[way], others[way] = wall, losses
        flops = sum(shapes[(c.label, c.width, c.depth)] * int(steps_done[c.id] or 0) for c in configs)

    table = Table(title="the same sweep three ways (wall time, this run)")
    for col in ("way", "wall (s)", "paramz is … faster", "GFLOP/s", f"of {args.workers} × matmul peak"):
        table.add_column(col, justify="right")
    for way, wall in walls.items():
        gflops = flops / wall / 1e9
        table.add_row(way, f"{wall:.1f}", "—" if way == "paramz" else f"{wall / walls['paramz']:.2f}×",
                      f"{gflops:.1f}", f"{gflops / (args.workers * peak):.1%}")
    console.print(table)
    console.print(f"matmul peak (1 thread, fp32, 1024²): {peak:.1f} GFLOP/s; sweep forward+backward: "
                  f"{flops / 1e9:.0f} GFLOP over {len(configs)} trials")
    phases = times.assign(phase=times["name"].str.removeprefix("time/")).groupby("phase")["value"].sum()
    trial_s = float(trials["seconds"].sum())
    split = Table(title="where paramz's time went (sum over trials; overhead = workers × wall − trial time)")
    split.add_column("phase")
    split.add_column("seconds", justify="right")
    split.add_column("share", justify="right")
    budget = args.workers * walls["paramz"]
    for phase, seconds in phases.sort_values(ascending=False).items():
        split.add_row(str(phase), f"{seconds:.1f}", f"{seconds / budget:.1%}")
    overhead = budget - trial_s
    split.add_row("dispatch, store, Ray start, idle workers", f"{overhead:.1f}", f"{overhead / budget:.1%}")
    console.print(split)
    probe = float(phases.get("probe", 0.0))
    console.print(f"sharpness probes: {probe / trial_s:.1%} of trial time")
    for way, losses in others.items():
        console.print(f"final losses, paramz vs {way}: {agreement(ours, losses)}")
    return 0


def agreement(ours: dict[str, float | None], theirs: dict[str, float | None]) -> str:
    """How many final losses are bitwise equal (diverged = None on both sides counts), and the largest
    relative difference of the others."""
    def clean(v: float | None) -> float | None:
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
    equal, worst, missing = 0, 0.0, 0
    for key, value in theirs.items():
        a, b = clean(ours.get(key)), clean(value)
        if a == b:
            equal += 1
        elif a is None or b is None:
            missing += 1
        else:
            worst = max(worst, abs(a - b) / abs(a))
    return (f"{equal} of {len(theirs)} bitwise equal; largest relative difference of the rest {worst:.1e}"
            + (f"; {missing} diverged on one side only" if missing else ""))


if __name__ == "__main__":
    raise SystemExit(main())
