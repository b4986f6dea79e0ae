"""The ``paramz`` console script: the sweeps CLI plus ``paramz serve``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from pydantic import ValidationError
from rich.console import Console

from paramz.errors import ConfigError

from sweeps import cli


def _add_serve(sub) -> None:
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
    from service.settings import Settings

    if not 0 < args.port < 65536:
        raise ConfigError(f"--port: {args.port} is not a TCP port; give 1–65535")
    overrides = {k: v for k, v in {"store": args.store, "executor": args.executor, "workers": args.workers,
                                   "ray_address": args.ray_address}.items() if v is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        lines = [f"PARAMZ_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("; ".join(lines)) from None
    app = create_app(settings)
    err.print(f"paramz serve: http://{args.host}:{args.port}/dashboards/ · API http://{args.host}:{args.port}/docs "
              f"· store {settings.store} · executor {settings.executor} · token {'on' if settings.token else 'off'}")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


COMMANDS: dict[str, cli.Command] = {"serve": (_add_serve, _serve)}


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(argv, COMMANDS)


if __name__ == "__main__":
    raise SystemExit(main())
