"""The ``paramz`` command line.

Every data-producing command takes ``--json`` and then prints exactly one JSON document on stdout;
tables and progress go to stderr. Exit codes: 0 success, 1 a check that ran and failed, 2 bad input
(one line on stderr naming the field and the fix, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

import paramz
from paramz.coordcheck import DEFAULT_THRESHOLD, CoordResult
from paramz.errors import ParamzError

EXIT_FAILED, EXIT_BAD_INPUT = 1, 2


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers such as 64,128,256, got {text!r}") from None


def _flat(values: Sequence[list[int]]) -> list[int]:
    return [v for chunk in values for v in chunk]


class _Parser(argparse.ArgumentParser):
    """argparse, but bad input exits 2 with one line (argparse prints the usage block)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"paramz: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(EXIT_BAD_INPUT)


Command = tuple[Callable[[Any], None], Callable[[argparse.Namespace, Console], int]]


def build_parser(extra: dict[str, Command] | None = None) -> argparse.ArgumentParser:
    parser = _Parser(prog="paramz", description="Hyperparameter transfer: parameterizations, checks, sweeps.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
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
    cc.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    cc.add_argument("--plot", metavar="FILE", help="write an HTML plot (self-contained) to FILE")
    from sweeps.commands import add_parsers
    add_parsers(sub)
    for add, _ in (extra or {}).values():
        add(sub)
    return parser


def coord_check_command(args: argparse.Namespace, err: Console) -> int:
    widths, depths = _flat(args.widths), _flat(args.depths)
    for name in ("steps", "batch_size", "seeds"):
        if getattr(args, name) < 1:
            raise paramz.ConfigError(f"--{name.replace('_', '-')}: must be at least 1")
    results: list[CoordResult] = []
    for name in args.param:
        options = {"alpha": args.alpha, "sp_init": args.sp_init,
                   "zero_init_readout": args.zero_init_readout or None, "zero_init_query": args.zero_init_query or None}
        results.append(paramz.coord_check(
            args.model, name, widths=widths, depths=depths, steps=args.steps, lr=args.lr, optimizer=args.optimizer,
            base_width=args.base_width, base_depth=args.base_depth, batch_size=args.batch_size, seeds=args.seeds,
            threshold=args.threshold, options=options))
    if args.plot:
        from sweeps.plots import coord_check_figure, write_html
        err.print(f"plot: {write_html(coord_check_figure(results), args.plot)}")
    if args.json:
        print(json.dumps(coord_check_document(results)))
    else:
        for result in results:
            err.print(verdict_table(result))
    return 0 if all(r.passed for r in results) else EXIT_FAILED


def coord_check_document(results: Sequence[CoordResult]) -> dict[str, object]:
    """One JSON document: flat ``records``, ``verdicts`` and ``updates``, each row tagged with its
    parameterization (ready for ``pandas.DataFrame``), plus a pass/fail summary per parameterization."""
    doc: dict[str, list] = {"summary": [], "records": [], "verdicts": [], "updates": []}
    for result in results:
        d = result.to_dict()
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


def main(argv: Sequence[str] | None = None, extra: dict[str, Command] | None = None) -> int:
    """Entry point of the command line; returns the exit code.

    Args:
        argv: arguments (default: sys.argv).
        extra: more commands, ``{name: (add_parser(subparsers), run(args, err))}``: the upper layer
            (``service.cli``) adds ``serve`` this way, since sweeps never imports the web stack.
    """
    torch.set_num_threads(1)
    err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)  # pipes: no 80-col squeeze
    args = build_parser(extra).parse_args(argv)
    try:
        if extra and args.command in extra:
            return extra[args.command][1](args, err)
        if args.command == "coord-check":
            return coord_check_command(args, err)
        if args.command == "sweep":
            from sweeps.commands import sweep_command
            return sweep_command(args, err)
    except ParamzError as exc:
        sys.stderr.write(f"paramz: error: {exc}\n")
        return EXIT_BAD_INPUT
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    raise SystemExit(main())
