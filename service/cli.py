"""The ``paramz`` console script: the library's and the sweep engine's commands, plus ``paramz serve``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from rich.console import Console

from paramz.cli import EXIT_OK, Command
from paramz.cli import main as paramz_main
from paramz.errors import ConfigError
from sweeps.cli import COMMANDS as SWEEP_COMMANDS
from sweeps.cli import setup
from sweeps.settings import load_settings


def _add_serve(sub: Any) -> None:
    serve = sub.add_parser("serve", help="the REST API and dashboards, with the background sweep runner")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--store", default=None, help="database URL (default: $PARAMZ_STORE or sqlite:///paramz.db)")
    serve.add_argument("--executor", choices=["ray", "local"], default=None)
    serve.add_argument("--workers", type=int, default=None)
    serve.add_argument("--ray-address", default=None)


def _serve(args: argparse.Namespace, err: Console) -> int:
    import uvicorn

    from service.main import create_app

    if not 0 < args.port < 65536:
        raise ConfigError(f"--port: {args.port} is not a TCP port; give 1–65535")
    settings = load_settings(store=args.store, executor=args.executor, workers=args.workers,
                             ray_address=args.ray_address)
    app = create_app(settings)
    err.print(f"paramz serve: http://{args.host}:{args.port}/dashboards/ · API http://{args.host}:{args.port}/docs "
              f"· store {settings.store} · executor {settings.executor} · token {'on' if settings.token else 'off'}")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return EXIT_OK


SERVE = Command("serve", _add_serve, _serve)
COMMANDS: list[Command] = [*SWEEP_COMMANDS, SERVE]


def main(argv: Sequence[str] | None = None) -> int:
    """The console script ``paramz``."""
    return paramz_main(argv, COMMANDS, setup)


if __name__ == "__main__":
    raise SystemExit(main())
