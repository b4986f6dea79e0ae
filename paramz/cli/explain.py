"""``paramz explain``: the plan paramz applies to a registered model family, parameter by parameter."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.table import Table

import paramz
from paramz.cli.base import EXIT_OK, Command, parse_dims
from paramz.explain import explain_rows


def _add_parser(sub: Any) -> None:
    p = sub.add_parser("explain", help="every parameter's role, init, multipliers and LR/ε/wd rules for a model")
    p.add_argument("--model", required=True, help="a registered family: " + ", ".join(paramz.models.MODELS)
                   + " (or an installed plugin's)")
    p.add_argument("--param", required=True, help="parameterization: " + ", ".join(paramz.NAMES))
    p.add_argument("--alpha", type=float, help="depth exponent α in [0.5, 1] (depth-mup, completep)")
    p.add_argument("--width", type=int, required=True, help="the model's width")
    p.add_argument("--depth", type=int, required=True, help="the model's depth")
    p.add_argument("--base-width", type=int, required=True, help="the width at which the base HPs were tuned")
    p.add_argument("--base-depth", type=int, help="the depth at which the base HPs were tuned (default: --depth)")
    p.add_argument("--dims", help="other config fields, e.g. d_head=16,vocab_size=256")
    p.add_argument("--optimizer", default="adamw", help="adamw or sgd (default adamw)")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def explain_command(args: argparse.Namespace, err: Console) -> int:
    model = paramz.models.build(args.model, width=args.width, depth=args.depth, **parse_dims(args.dims))
    paramz.parameterize(model, args.param, base_width=args.base_width, base_depth=args.base_depth,
                        alpha=args.alpha)
    rows, summary = explain_rows(model, args.optimizer)
    if args.json:
        print(json.dumps({"model": args.model, **summary, "parameters": [asdict(r) for r in rows]}))
        return EXIT_OK
    table = Table(title=f"{args.model} width {args.width} depth {args.depth} under {args.param} "
                        f"(base {args.base_width}), {args.optimizer}", title_justify="left")
    for col in ("parameter", "shape", "role", "block", "init std", "fwd ×", "lr ×", "ε ×", "wd ×", "role from"):
        table.add_column(col, justify="left" if col in ("parameter", "role", "role from") else "right")
    for r in rows:
        table.add_row(r.name, "×".join(map(str, r.shape)), r.role, "yes" if r.in_block else "", f"{r.init_std:.4g}",
                      f"{r.forward:.4g}", f"{r.lr_mult:.4g}", f"{r.eps_mult:.4g}", f"{r.wd_mult:.4g}", r.source)
    err.print(table)
    scale = summary["attention_scale"]
    err.print(f"residual branches × {summary['residual_multiplier']:.4g} (L/L0 = {summary['depth_ratio']:.4g}) · "
              f"readout input × {summary['readout_multiplier']:.4g} · embedding × {summary['embedding_multiplier']:.4g}"
              f" · attention logits × {'the model’s own 1/√d_head' if scale is None else f'{scale:.4g}'}")
    for warning in summary["warnings"]:
        err.print(f"[yellow]warning:[/] {warning}")
    return EXIT_OK


EXPLAIN = Command("explain", _add_parser, explain_command)
