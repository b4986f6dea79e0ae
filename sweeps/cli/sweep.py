"""``paramz sweep …``: run, status, cancel, report, list, export.

Every command calls `sweeps.application` and only renders: text on stderr (rich), or with
``--json`` one document on stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from paramz.cli import EXIT_FAILED, EXIT_OK, Command
from paramz.cli.base import positive_float
from paramz.errors import ConfigError
from sweeps import application
from sweeps.analysis import TransferReport
from sweeps.domain import SweepState, TrialState
from sweeps.settings import DEFAULT_STORE, Settings, load_settings
from sweeps.spec import load_spec, parse_spec
from sweeps.store import Store

STORE_HELP = f"database URL (default: $PARAMZ_STORE or {DEFAULT_STORE})"


def _add_parser(sub: Any) -> None:
    sweep = sub.add_parser("sweep", help="run and inspect LR sweeps")
    ssub = sweep.add_subparsers(dest="sweep_command", required=True, parser_class=type(sweep))
    run = ssub.add_parser("run", help="launch a sweep from a YAML/JSON spec and run it (or resume it)")
    run.add_argument("spec", metavar="SPEC")
    run.add_argument("--store", help=STORE_HELP)
    run.add_argument("--executor", choices=("ray", "local"), help="ray (default) or local (in-process)")
    run.add_argument("--ray-address", help="Ray cluster address (default: $RAY_ADDRESS or a local instance)")
    run.add_argument("--workers", type=int, help="worker processes (default: one per CPU)")
    run.add_argument("--adaptive", action="store_true",
                     help="adaptive LR search (default settings) instead of the spec's grid, unless it has search:")
    run.add_argument("--json", action="store_true")
    for name, text in (("status", "counts by state"),
                       ("cancel", "stop a sweep: running trials killed, the rest cancelled (through its runner "
                                  "when one holds it)"),
                       ("report", "losses per scale × LR, optima with intervals, transfer law and verdict")):
        p = ssub.add_parser(name, help=text)
        p.add_argument("id", metavar="ID")
        p.add_argument("--store", help=STORE_HELP)
        p.add_argument("--json", action="store_true")
        if name == "report":
            p.add_argument("--predict", metavar="width=N,depth=L", help="predict η* at this scale")
            p.add_argument("--tolerance", type=positive_float, default=None,
                           help="octaves of η* drift per doubling still called 'transfers' (default: the "
                                "spec's analysis.tolerance, 1/3: one octave over 8×)")
    lst = ssub.add_parser("list", help="sweeps in the store, newest first")
    lst.add_argument("--store", help=STORE_HELP)
    lst.add_argument("--json", action="store_true")
    exp = ssub.add_parser("export", help="trials (and metrics) to CSV or Parquet, or Optuna studies")
    exp.add_argument("id", metavar="ID")
    exp.add_argument("--store", help=STORE_HELP)
    exp.add_argument("--format", choices=("csv", "parquet", "optuna"), default="csv",
                     help="csv/parquet: trials and metrics files; optuna: one study per scale (optuna-dashboard)")
    exp.add_argument("--out", required=True, help="trials file (metrics go to <stem>.metrics.<ext>); for optuna a "
                     "journal file (*.log) or an Optuna storage URL")


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(store=getattr(args, "store", None), executor=getattr(args, "executor", None),
                         workers=getattr(args, "workers", None), ray_address=getattr(args, "ray_address", None))


def sweep_command(args: argparse.Namespace, err: Console) -> int:
    settings = _settings(args)
    store = Store(settings.store)
    handlers = {"run": _run, "status": _status, "cancel": _cancel, "report": _report, "list": _list,
                "export": _export}
    return handlers[args.sweep_command](args, settings, store, err)


def _run(args: argparse.Namespace, settings: Settings, store: Store, err: Console) -> int:
    spec = load_spec(args.spec)
    if args.adaptive and spec.search is None:
        spec = parse_spec({**spec.model_dump(mode="json"), "search": {}})
    launched = application.launch(store, spec)
    start = time.perf_counter()
    if launched.runnable:
        executor = application.make_executor(settings)
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), TimeRemainingColumn(), console=err) as bar:
            task = bar.add_task(spec.name, total=spec.n_trials)

            def progress(counts: dict[str, int]) -> None:
                done = sum(n for s, n in counts.items() if TrialState(s).is_finished())
                total = spec.n_trials if spec.search is None else sum(counts.values())  # a search grows
                bar.update(task, completed=done, total=total, description=(
                    f"{spec.name}: running {counts.get('running', 0)} · diverged {counts.get('diverged', 0)} · "
                    f"failed {counts.get('failed', 0)}"))

            try:
                application.run(store, launched.sweep_id, executor, progress)
            finally:
                executor.close()
    info = store.sweep(launched.sweep_id)
    doc = {"id": info.id, "status": info.status.value, "counts": info.counts, "created": launched.created,
           "reopened": launched.reopened, "seconds": round(time.perf_counter() - start, 2), "store": store.url}
    if args.json:
        print(json.dumps(doc))
    else:
        err.print(f"sweep {info.id}: {info.status.value} {info.counts} in {doc['seconds']} s — "
                  f"`paramz sweep report {info.id}`")
    return EXIT_OK if info.status is SweepState.COMPLETED else EXIT_FAILED


def _cancel(args: argparse.Namespace, settings: Settings, store: Store, err: Console) -> int:
    status = application.cancel(store, args.id)
    doc = {"id": args.id, "status": status.value, "counts": store.counts(args.id)}
    if args.json:
        print(json.dumps(doc))
    else:
        err.print(f"sweep {args.id}: {status.value}" + (" (its runner is stopping it)"
                                                         if status is SweepState.CANCELLING else ""))
    return EXIT_OK


def _status(args: argparse.Namespace, settings: Settings, store: Store, err: Console) -> int:
    info = store.sweep(args.id)
    doc = {"id": info.id, "status": info.status.value, "counts": info.counts, "runner": info.runner}
    if args.json:
        print(json.dumps(doc))
    else:
        err.print(doc)
    return EXIT_OK


def _parse_scale(text: str) -> dict[str, int]:
    try:
        pairs = dict(item.split("=") for item in text.split(","))
        scale = {k.strip(): int(v) for k, v in pairs.items()}
    except ValueError:
        raise ConfigError(f"--predict: expected width=N,depth=L, got {text!r}") from None
    if set(scale) - {"width", "depth"} or "width" not in scale:
        raise ConfigError(f"--predict: expected width=N[,depth=L], got {text!r}")
    return scale


def _report(args: argparse.Namespace, settings: Settings, store: Store, err: Console) -> int:
    scale = _parse_scale(args.predict) if args.predict else {}
    result = application.report(store, args.id, tolerance=args.tolerance, width=scale.get("width"),
                                depth=scale.get("depth"))
    status = store.status(args.id)
    if args.json:
        print(json.dumps({"id": args.id, "status": status.value, **result.to_dict()}))
        return EXIT_OK
    render_report(result, args.id, err, predicted_at=args.predict)
    return EXIT_OK


def _interval(low: float, high: float) -> str:
    left = "(−∞" if math.isinf(low) else f"[{low:+.2f}"
    right = "+∞)" if math.isinf(high) else f"{high:+.2f}]"
    return f"{left}, {right}"


def render_report(result: TransferReport, sweep_id: str, err: Console, predicted_at: str | None = None) -> None:
    """The text form of a `TransferReport`: loss table, optima, verdicts with their reasons, predictions,
    super consistency. Nothing is cut: wide tables are split to fit the console."""
    for table in report_tables(result, sweep_id, err.width):
        err.print(table)
    optima = Table(title="optimal LR per scale (mean of the seeds' parabola vertices; 95% interval, log2)",
                   title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("width×depth", "log2 η*", "95% interval", "η*", "seeds", "interval from", "flags"):
        optima.add_column(col, justify="left" if col in ("width×depth", "interval from", "flags") else "right")
    for o in result.optima:
        how = {"seeds": f"seeds (t, {o.dof:g} dof)", "pooled": f"other scales' seeds (t, {o.dof:g} dof)",
               "assumed": "assumed ½-octave seed scatter", "edge": "grid edge: half-open"}[o.method]
        optima.add_row(f"{o.parameterization} {o.width}×{o.depth}", f"{o.log2_lr:+.2f}",
                       _interval(o.log2_low, o.log2_high), f"{o.lr:.2e}", str(o.n_seeds), how, ", ".join(o.flags))
    err.print(optima)
    for param, axes in result.verdicts.items():
        fit = result.fits.get(param)
        for axis, v in axes.items():
            colour = {"transfers": "green", "drifts": "red"}.get(v.outcome, "yellow")
            err.print(f"[bold]{param}[/] {axis}: [{colour}]{v.text}[/]")
            for step in v.settle:
                err.print(f"    would settle it: {step}")
        if fit is None:
            continue
        err.print(f"    law fit on {len(fit.used)} optima: {', '.join(f'{w}×{d}' for w, d in fit.used)}")
        for w, d, why in fit.left_out:
            err.print(f"    left out {w}×{d}: {why}")
        for w, d, why in fit.influential:
            err.print(f"    [yellow]{w}×{d} {why}[/]")
    for param, reason in result.no_law.items():
        err.print(f"[bold]{param}[/]: no law: {reason}")
    for param, pred in result.predictions.items():
        rests = ", ".join(f"{w}×{d}" for w, d in pred.rests_on)
        err.print(f"[bold]{param}[/] predicted η* at {predicted_at}: {pred.lr:.3g} "
                  f"(95% {pred.lr_low:.3g}–{pred.lr_high:.3g}); rests on {rests}")
        for warning in pred.warnings:
            err.print(f"  [yellow]warning:[/] {warning}")
    for param, reason in result.no_prediction.items():
        err.print(f"[bold]{param}[/]: no prediction at {predicted_at}: {reason}")
    if result.consistency:
        err.print(consistency_table(result))


def consistency_table(result: TransferReport) -> Table:
    """Super consistency: the spread (CV) of λ_max across scales at the last common probe step."""
    table = Table(title="super consistency: coefficient of variation of λ_max across scales (last common step; "
                        "small = consistent)", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("parameterization", "operator", "LR", "CV", "step", "scales"):
        table.add_column(col, justify="right" if col in ("CV", "step", "scales") else "left")
    for c in result.consistency:
        lr = "each scale's best" if c.mode == "best-lr" else (f"{c.lr:.2e} (common)" if c.lr else "common")
        if c.cv_final is None:
            table.add_row(c.parameterization, c.operator, lr, "—", "", c.reason)
        else:
            table.add_row(c.parameterization, c.operator, lr, f"{c.cv_final:.2f}", str(c.steps[-1]), str(len(c.scales)))
    return table


def report_tables(result: TransferReport, sweep_id: str, width: int = 120) -> list[Table]:
    """Final loss per scale (rows) × log2 LR (columns); ∞ = diverged; * marks the best LR of a row.

    The LR columns are split over as many tables as it takes to fit ``width`` characters, each
    titled with the LRs it holds; no column is dropped.
    """
    rows: dict[tuple[str, int, int], dict[float, float | None]] = {}
    for curve in result.curves:
        rows[(curve.parameterization, curve.width, curve.depth)] = {
            p.lr: (math.inf if p.diverged else p.loss) for p in curve.points}
    lrs = sorted({lr for row in rows.values() for lr in row})
    label = max([len(f"{p} {w}×{d}") for p, w, d in rows] + [11])
    per_table = max(1, (width - label - 4) // 8)
    chunks = [lrs[i:i + per_table] for i in range(0, len(lrs), per_table)] or [[]]
    best = {}
    for key, row in rows.items():
        finite = [v for v in row.values() if v is not None and math.isfinite(v)]
        best[key] = min(finite) if finite else None
    tables = []
    for k, chunk in enumerate(chunks):
        part = f" (log2 LR {math.log2(chunk[0]):g} … {math.log2(chunk[-1]):g}, part {k + 1} of {len(chunks)})" \
            if len(chunks) > 1 else ""
        out = Table(title=f"sweep {sweep_id}: final held-out loss, seed mean{part}", title_justify="left",
                    caption="columns: log2 LR · * best of the row · ∞ diverged", padding=(0, 1), box=box.SIMPLE_HEAD)
        out.add_column("width×depth", justify="left", no_wrap=True, min_width=label)
        for lr in chunk:
            out.add_column(f"{math.log2(lr):g}", justify="right", min_width=6, no_wrap=True)
        for (p, w, d), row in rows.items():
            cells = []
            for lr in chunk:
                v = row.get(lr)
                cells.append("" if v is None else "∞" if not math.isfinite(v) else f"{v:.3g}*"
                             if v == best[(p, w, d)] else f"{v:.3g} ")
            out.add_row(f"{p} {w}×{d}", *cells)
        tables.append(out)
    return tables


def _list(args: argparse.Namespace, settings: Settings, store: Store, err: Console) -> int:
    infos = store.sweeps()
    if args.json:
        print(json.dumps({"sweeps": [{"id": i.id, "name": i.name, "status": i.status.value, "n_trials": i.n_trials,
                                      "counts": i.counts, "created_at": i.created_at, "family": i.family,
                                      "task": i.task, "parameterizations": list(i.parameterizations),
                                      "best_loss": i.best_loss} for i in infos]}))
        return EXIT_OK
    out = Table(title="sweeps, newest first")
    for col in ("id", "name", "model", "status", "trials", "counts", "created"):
        out.add_column(col)
    for i in infos:
        out.add_row(i.id, i.name, f"{i.family}/{i.task}", i.status.value, str(i.n_trials), str(i.counts),
                    i.created_at)
    err.print(out)
    return EXIT_OK


def _export(args: argparse.Namespace, settings: Settings, store: Store, err: Console) -> int:
    trials = store.trials_frame(args.id)
    if args.format == "optuna":
        from sweeps.analysis.optuna_export import export_to_optuna
        names = export_to_optuna(trials, args.id, args.out)
        err.print(f"wrote {len(names)} Optuna studies to {args.out}; open them with `optuna-dashboard {args.out}`")
        return EXIT_OK
    metrics = store.metrics_frame(args.id)
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
    return EXIT_OK


SWEEP = Command("sweep", _add_parser, sweep_command)
