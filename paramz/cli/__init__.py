"""The ``paramz`` command line: one parser, commands contributed by each layer.

paramz contributes ``coord-check`` and ``explain`` (`paramz.cli.coordcheck`, `paramz.cli.explain`);
`sweeps.cli` adds ``sweep``;
`service.cli` adds ``serve`` and is the console script. Each layer only adds to the layers below it,
so the library never imports the sweep engine or the web stack.

Every data-producing command takes ``--json`` and then prints exactly one JSON document on stdout;
tables and progress go to stderr. Exit codes: 0 success, 1 a check that ran and failed (or a sweep
that did not complete), 2 bad input: one line on stderr naming the field and the fix, never a
traceback.

This package is the library's front end: unlike the rest of paramz it may use rich and plotly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import torch
from rich.console import Console

from paramz.cli.base import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Command, Parser
from paramz.cli.coordcheck import COORD_CHECK
from paramz.cli.explain import EXPLAIN
from paramz.errors import ParamzError

COMMANDS: list[Command] = [COORD_CHECK, EXPLAIN]


def build_parser(commands: Sequence[Command]) -> argparse.ArgumentParser:
    """The parser of ``commands``."""
    parser = Parser(prog="paramz", description="Hyperparameter transfer: parameterizations, checks, sweeps.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in commands:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None, commands: Sequence[Command] | None = None,
         setup: Callable[[], None] | None = None) -> int:
    """Entry point of the command line; returns the exit code.

    Args:
        argv: arguments (default: ``sys.argv``).
        commands: the commands (default: paramz's own, `COMMANDS`).
        setup: run once the arguments parse, before the command (the sweep engine's front end
            loads the plugins its settings allow there).
    """
    torch.set_num_threads(1)
    commands = list(commands if commands is not None else COMMANDS)
    err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)  # pipes: no 80-col squeeze
    args = build_parser(commands).parse_args(argv)
    by_name = {c.name: c for c in commands}
    try:
        if setup is not None:
            setup()
        return by_name[args.command].run(args, err)
    except ParamzError as exc:
        sys.stderr.write(f"paramz: error: {exc}\n")
        return EXIT_BAD_INPUT


__all__ = ["COMMANDS", "EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_OK", "Command", "Parser", "build_parser", "main"]
