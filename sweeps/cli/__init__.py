"""Front ends of the sweep engine: the ``paramz sweep`` commands and the ``make demo`` script.

They parse, call `sweeps.application`, and render; no sweep logic lives here.
"""

from __future__ import annotations

from collections.abc import Sequence

from paramz.cli import COMMANDS as PARAMZ_COMMANDS
from paramz.cli import Command
from paramz.cli import main as paramz_main
from sweeps.cli.sweep import SWEEP
from sweeps.cli.validate import VALIDATE
from sweeps.settings import load_settings
from sweeps.spec import load_plugins

COMMANDS: list[Command] = [*PARAMZ_COMMANDS, SWEEP, VALIDATE]


def setup() -> None:
    """Loads the plugins the settings allow (``PARAMZ_PLUGINS``), before any command runs."""
    load_plugins(load_settings().plugins)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sweeps.cli``: the paramz CLI without ``serve`` (no web stack imported)."""
    return paramz_main(argv, COMMANDS, setup)


__all__ = ["COMMANDS", "main", "setup"]
