"""What every command of the ``paramz`` CLI shares: the `Command` shape, the parser, exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from rich.console import Console

from paramz.errors import ConfigError

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


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (argparse names the flag in its error)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def _value(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        return text.strip()


def parse_dims(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:  # "d_head=16,tied=true" → {"d_head": 16, "tied": True}
        return {k.strip(): _value(v) for k, v in (item.split("=", 1) for item in text.split(","))}
    except ValueError:
        raise ConfigError(f"--dims: expected key=value,key=value (e.g. d_head=16,tied=true), got {text!r}") from None
