"""``paramz coord-check``: width or depth coordinate checks of a zoo model, with pass/fail verdicts."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

import paramz
from paramz.cli.base import EXIT_FAILED, EXIT_OK, Command, parse_dims
from paramz.coordcheck import DEFAULT_THRESHOLD, CoordResult, check_inputs


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers such as 64,128,256, got {text!r}") from None


def _flat(values: Sequence[list[int]]) -> list[int]:
    return [v for chunk in values for v in chunk]


def _add_parser(sub: Any) -> None:
    cc = sub.add_parser("coord-check", help="width or depth coordinate check with pass/fail verdicts")
    cc.add_argument("--model", required=True, help="zoo model: " + ", ".join(paramz.models.MODELS))
    cc.add_argument("--param", required=True, action="append",
                    help="parameterization (repeat to compare): " + ", ".join(paramz.NAMES))
    cc.add_argument("--alpha", type=float, help="depth exponent α in [0.5, 1] (depth-mup, completep)")
    cc.add_argument("--widths", type=_ints, nargs="+", required=True, help="e.g. 64 128 256 or 64,128,256")
    cc.add_argument("--depths", type=_ints, nargs="+", required=True, help="e.g. 2 or 2,4,8,16")
    cc.add_argument("--base-width", type=int, help="base width (default: the smallest width)")
    cc.add_argument("--base-depth", type=int, help="base depth (default: the smallest depth)")
    cc.add_argument("--steps", type=int, default=5, help="optimizer steps (default 5)")
    cc.add_argument("--lr", type=float, default=1e-2, help="base learning rate (default 1e-2)")
    cc.add_argument("--optimizer", default="adamw", help="adamw or sgd (default adamw)")
    cc.add_argument("--batch-size", type=int, default=32)
    cc.add_argument("--seeds", type=int, default=1, help="model seeds averaged per size")
    cc.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                    help=f"allowed |slope| of log mean|x| vs log scale (default {DEFAULT_THRESHOLD})")
    cc.add_argument("--sp-init", choices=("fan_in", "const"), help="SP init variant")
    cc.add_argument("--zero-init-readout", action="store_true")
    cc.add_argument("--zero-init-query", action="store_true")
    cc.add_argument("--dims", help="other config fields of the model, e.g. d_head=64,seq_len=32")
    cc.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    cc.add_argument("--plot", metavar="FILE", help="write an HTML plot (self-contained) to FILE")


def coord_check_command(args: argparse.Namespace, err: Console) -> int:
    widths, depths = _flat(args.widths), _flat(args.depths)
    # the same checks as the Python API, before any model is built
    check_inputs(widths=widths, depths=depths, steps=args.steps, lr=args.lr, optimizer=args.optimizer,
                 batch_size=args.batch_size, seeds=args.seeds, threshold=args.threshold)
    results: list[CoordResult] = []
    for name in args.param:
        options = {"alpha": args.alpha, "sp_init": args.sp_init,
                   "zero_init_readout": args.zero_init_readout or None, "zero_init_query": args.zero_init_query or None}
        results.append(paramz.coord_check(
            args.model, name, widths=widths, depths=depths, steps=args.steps, lr=args.lr, optimizer=args.optimizer,
            base_width=args.base_width, base_depth=args.base_depth, batch_size=args.batch_size, seeds=args.seeds,
            threshold=args.threshold, options=options, dims=parse_dims(args.dims)))
    if args.plot:
        from paramz.cli.plots import coord_check_figure, write_html
        err.print(f"plot: {write_html(coord_check_figure(results), args.plot)}")
    if args.json:
        print(json.dumps(coord_check_document(results)))
    else:
        for result in results:
            err.print(verdict_table(result))
    return EXIT_OK if all(r.passed for r in results) else EXIT_FAILED


def coord_check_document(results: Sequence[CoordResult]) -> dict[str, object]:
    """One JSON document: flat ``records``, ``verdicts`` and ``updates``, each row tagged with its
    parameterization (ready for ``pandas.DataFrame``), plus a pass/fail summary per parameterization."""
    doc: dict[str, list[dict[str, Any]]] = {"summary": [], "records": [], "verdicts": [], "updates": []}
    for result in results:
        d: dict[str, Any] = result.to_dict()
        doc["summary"].append({k: d[k] for k in ("parameterization", "model", "axis", "passed")})
        for key in ("records", "verdicts", "updates"):
            doc[key] += [{"parameterization": result.parameterization, **row} for row in d[key]]
    return {"passed": all(r.passed for r in results), **doc}


def verdict_table(result: CoordResult) -> Table:
    """A rich table of one coordinate check's verdicts."""
    title = (f"{result.parameterization} · {result.model} · {result.axis} check: "
             f"{'[green]PASS' if result.passed else '[red]FAIL'}[/]")
    table = Table(title=title, title_justify="left")
    for col in ("module", "slope at T", "growth", "steepest (1..T)", "verdict"):
        table.add_column(col, justify="left" if col == "module" else "right")
    for v in result.verdicts:
        table.add_row(v.module, f"{v.slope:+.3f}", f"×{v.growth:.2f}", f"{v.steepest:+.3f}",
                      "[green]pass[/]" if v.passed else "[red]FAIL[/]")
    table.caption = (f"pass: |slope| ≤ {result.verdicts[0].threshold} at the last step T "
                     "(readout and attention logits may shrink as 1/√N)")
    return table


COORD_CHECK = Command("coord-check", _add_parser, coord_check_command)
