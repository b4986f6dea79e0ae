"""``paramz sweep …``: run, status, report, list, export. `--json` prints one document on stdout."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
import math
import os
import time

import pandas as pd
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from paramz.errors import ConfigError
from sweeps.analysis import fit_transfer_law, optimal_lr_per_scale, predict, verdict
from sweeps.engine import run_sweep
from sweeps.spec import load_spec, parse_spec
from sweeps.store import DEFAULT_URL, FINISHED, Store


def add_parsers(sub: argparse._SubParsersAction) -> None:
    sweep = sub.add_parser("sweep", help="run and inspect LR sweeps")
    ssub = sweep.add_subparsers(dest="sweep_command", required=True, parser_class=type(sweep))
    store_help = f"database URL (default: $PARAMZ_STORE or {DEFAULT_URL})"
    run = ssub.add_parser("run", help="run or resume a sweep from a YAML/JSON spec")
    run.add_argument("spec", metavar="SPEC")
    run.add_argument("--store", help=store_help)
    run.add_argument("--executor", choices=("ray", "local"), default="ray", help="ray (default) or local (in-process)")
    run.add_argument("--ray-address", help="Ray cluster address (default: $RAY_ADDRESS or a local instance)")
    run.add_argument("--workers", type=int, help="worker processes (default: one per CPU)")
    run.add_argument("--adaptive", action="store_true",
                     help="adaptive LR search (default settings) instead of the spec's grid, unless it has search:")
    run.add_argument("--json", action="store_true")
    for name, text in (("status", "counts by state"), ("cancel", "stop a sweep: running trials killed, the rest "
                                                                 "cancelled (through its runner when one holds it)"),
                       ("report", "losses per scale × LR, optima with intervals, transfer law and verdict")):
        p = ssub.add_parser(name, help=text)
        p.add_argument("id", metavar="ID")
        p.add_argument("--store", help=store_help)
        p.add_argument("--json", action="store_true")
        if name == "report":
            p.add_argument("--predict", metavar="width=N,depth=L", help="predict η* at this scale")
            p.add_argument("--tolerance", type=float, default=0.5,
                           help="octaves per doubling still called 'transfers' (default 0.5)")
    lst = ssub.add_parser("list", help="sweeps in the store")
    lst.add_argument("--store", help=store_help)
    lst.add_argument("--json", action="store_true")
    exp = ssub.add_parser("export", help="trials (and metrics) to CSV or Parquet")
    exp.add_argument("id", metavar="ID")
    exp.add_argument("--store", help=store_help)
    exp.add_argument("--format", choices=("csv", "parquet", "optuna"), default="csv",
                     help="csv/parquet: trials and metrics files; optuna: one study per scale (optuna-dashboard)")
    exp.add_argument("--out", required=True, help="trials file (metrics go to <stem>.metrics.<ext>); for optuna a "
                     "journal file (*.log) or an Optuna storage URL")


def _store(args: argparse.Namespace) -> Store:
    return Store(args.store or os.environ.get("PARAMZ_STORE") or DEFAULT_URL)


def sweep_command(args: argparse.Namespace, err: Console) -> int:
    handler = {"run": _run, "status": _status, "cancel": _cancel, "report": _report, "list": _list, "export": _export}
    return handler[args.sweep_command](args, err)


def _run(args: argparse.Namespace, err: Console) -> int:
    spec = load_spec(args.spec)
    if args.adaptive and spec.search is None:
        spec = parse_spec({**spec.model_dump(mode="json"), "search": {}})
    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers: must be at least 1")
    store = _store(args)
    if args.executor == "local":
        from sweeps.executors import LocalExecutor
        executor = LocalExecutor()
    else:
        from sweeps.executors import RayExecutor
        executor = RayExecutor(workers=args.workers, address=args.ray_address)
    start = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=err) as bar:
        task = bar.add_task(spec.name, total=spec.n_trials)

        def progress(counts: dict[str, int]) -> None:
            done = sum(counts.get(s, 0) for s in FINISHED)
            total = spec.n_trials if spec.search is None else sum(counts.values())  # a search grows as it goes
            bar.update(task, completed=done, total=total, description=(
                f"{spec.name}: running {counts.get('running', 0)} · diverged {counts.get('diverged', 0)} · "
                f"failed {counts.get('failed', 0)}"))

        try:
            sweep_id = run_sweep(spec, store, executor, progress)
        finally:
            executor.close()
    status = store.sweep_status(sweep_id)
    doc = {"id": sweep_id, "status": status, "counts": store.counts(sweep_id),
           "seconds": round(time.perf_counter() - start, 2), "store": store.url}
    if args.json:
        print(json.dumps(doc))
    else:
        err.print(f"sweep {sweep_id}: {status} {doc['counts']} in {doc['seconds']} s — "
                  f"`paramz sweep report {sweep_id}`")
    return 0 if status == "completed" else 1


def _cancel(args: argparse.Namespace, err: Console) -> int:
    store = _store(args)
    status = store.cancel(args.id)
    doc = {"id": args.id, "status": status, "counts": store.counts(args.id)}
    print(json.dumps(doc)) if args.json else err.print(
        f"sweep {args.id}: {status}" + (" (its runner is stopping it)" if status == "cancelling" else ""))
    return 0


def _status(args: argparse.Namespace, err: Console) -> int:
    store = _store(args)
    lease = store.lease(args.id)
    doc = {"id": args.id, "status": store.sweep_status(args.id), "counts": store.counts(args.id),
           "runner": lease["owner"] if lease else None}
    print(json.dumps(doc)) if args.json else err.print(doc)
    return 0


def loss_table(store: Store, sweep_id: str) -> pd.DataFrame:
    """Final held-out loss per (parameterization, width, depth) × LR, seed-averaged; diverged = inf."""
    df = store.trials_frame(sweep_id)
    df["loss"] = df["final_eval_loss"].where(df["status"] == "completed", math.inf)
    done = df[df["status"].isin(["completed", "diverged"])]
    return done.groupby(["parameterization", "width", "depth", "lr"])["loss"].mean().unstack("lr")


def _parse_scale(text: str) -> dict[str, int]:
    try:
        pairs = dict(item.split("=") for item in text.split(","))
        scale = {k.strip(): int(v) for k, v in pairs.items()}
    except ValueError:
        raise ConfigError(f"--predict: expected width=N,depth=L, got {text!r}") from None
    if set(scale) - {"width", "depth"} or "width" not in scale:
        raise ConfigError(f"--predict: expected width=N[,depth=L], got {text!r}")
    return scale


def transfer_report(store: Store, sweep_id: str, tolerance: float = 0.5,
                    scale: dict[str, int] | None = None) -> dict[str, object]:
    """Optima per scale, the transfer law and verdict per parameterization, and an optional prediction."""
    spec = store.spec(sweep_id)
    optima = optimal_lr_per_scale(store.trials_frame(sweep_id))
    fits = fit_transfer_law(optima, spec.base_width, spec.resolved_base_depth())
    doc: dict[str, object] = {
        "optima": [asdict(o) for o in optima],
        "fits": {p: asdict(f) for p, f in fits.items()},
        "verdicts": {p: verdict(f, tolerance) for p, f in fits.items()},
    }
    if scale is not None:
        depth = scale.get("depth", spec.resolved_base_depth())
        doc["predictions"] = {p: predict(f, scale["width"], depth) for p, f in fits.items()}
    return doc


def _report(args: argparse.Namespace, err: Console) -> int:
    store = _store(args)
    table = loss_table(store, args.id)
    scale = _parse_scale(args.predict) if args.predict else None
    doc = transfer_report(store, args.id, args.tolerance, scale)
    if args.json:
        rows = [{"parameterization": p, "width": int(w), "depth": int(d),
                 "losses": {repr(float(lr)): (None if not math.isfinite(v) else v) for lr, v in row.items()
                            if not pd.isna(v)}}
                for (p, w, d), row in table.iterrows()]
        print(json.dumps({"id": args.id, "status": store.sweep_status(args.id), "rows": rows, **doc}))
        return 0
    err.print(report_table(table, args.id))
    optima = Table(title="optimal LR per scale (parabola through the grid argmin; 95% interval)",
                   title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("width×depth", "log2 η*", "95% interval", "η*", "flags"):
        optima.add_column(col, justify="left" if col in ("width×depth", "flags") else "right", no_wrap=True)
    for o in doc["optima"]:
        optima.add_row(f"{o['parameterization']} {o['width']}×{o['depth']}", f"{o['log2_lr']:+.2f}",
                       f"[{o['low']:+.2f}, {o['high']:+.2f}]", f"{2 ** o['log2_lr']:.2e}", ", ".join(o["flags"]))
    err.print(optima)
    for param, axes in doc["verdicts"].items():
        fit = doc["fits"][param]
        left = f"; left out: {fit['left_out']}" if fit["left_out"] else ""
        for axis, text in axes.items():
            err.print(f"[bold]{param}[/] {axis}: {text} — fit on {len(fit['used'])} optima{left}")
    for param, pred in doc.get("predictions", {}).items():
        err.print(f"[bold]{param}[/] predicted η* at {args.predict}: {pred['lr']:.3g} "
                  f"(95% {pred['low']:.3g}–{pred['high']:.3g})")
        for warning in pred["warnings"]:
            err.print(f"  [yellow]warning:[/] {warning}")
    return 0


def report_table(table: pd.DataFrame, sweep_id: str) -> Table:
    """Final loss per scale (rows) × log2 LR (columns); ∞ = diverged; * marks the best LR of a row."""
    out = Table(title=f"sweep {sweep_id}: final held-out loss, seed mean", title_justify="left",
                caption="columns: log2 LR · * best of the row · ∞ diverged", padding=(0, 1), box=box.SIMPLE_HEAD)
    out.add_column("width×depth", justify="left", no_wrap=True)
    for lr in table.columns:
        out.add_column(f"{math.log2(lr):g}", justify="right", min_width=5, no_wrap=True)
    for (p, w, d), row in table.iterrows():
        best = row.min()
        out.add_row(f"{p} {w}×{d}", *["" if pd.isna(v) else "∞" if not math.isfinite(v) else
                                      f"{v:.2f}*" if v == best else f"{v:.2f} " for v in row])
    return out


def _list(args: argparse.Namespace, err: Console) -> int:
    rows = _store(args).sweeps()
    if args.json:
        print(json.dumps({"sweeps": rows}))
        return 0
    out = Table(title="sweeps")
    for col in ("id", "name", "status", "trials", "counts", "created"):
        out.add_column(col)
    for r in rows:
        out.add_row(r["id"], r["name"], r["status"], str(r["n_trials"]), str(r["counts"]), r["created_at"])
    err.print(out)
    return 0


def _export(args: argparse.Namespace, err: Console) -> int:
    store = _store(args)
    if args.format == "optuna":
        from sweeps.optuna_export import export_to_optuna
        names = export_to_optuna(store, args.id, args.out)
        err.print(f"wrote {len(names)} Optuna studies to {args.out}; open them with `optuna-dashboard {args.out}`")
        return 0
    trials, metrics = store.trials_frame(args.id), store.metrics_frame(args.id)
    out = args.out
    stem, _, ext = out.rpartition(".")
    metrics_path = f"{stem or out}.metrics.{ext or args.format}"
    if args.format == "csv":
        trials.to_csv(out, index=False)
        metrics.to_csv(metrics_path, index=False)
    else:
        trials.to_parquet(out, index=False)
        metrics.to_parquet(metrics_path, index=False)
    err.print(f"wrote {out} ({len(trials)} trials) and {metrics_path} ({len(metrics)} metrics)")
    return 0
