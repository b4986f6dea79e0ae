"""What every command of the ``paramz`` CLI shares: the `Command` shape, the parser, exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from rich.console import Console

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


@dataclass(frozen=True)
class Command:
    """A top-level command: how to add its parser, and how to run it (returns the exit code)."""

    name: str
    add_parser: Callable[[Any], None]
    run: Callable[[argparse.Namespace, Console], int]


class Parser(argparse.ArgumentParser):
    """argparse, but bad input exits 2 with one line (argparse prints the usage block)."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"paramz: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(EXIT_BAD_INPUT)
