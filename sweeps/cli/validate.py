"""``paramz validate``: run the validation studies and write ``docs/validation/`` (see `sweeps.validation`)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from paramz.cli import EXIT_FAILED, EXIT_OK, Command
from paramz.errors import ConfigError
from sweeps import application
from sweeps.settings import load_settings
from sweeps.store import Store
from sweeps.validation import PROFILES, run_validation, summary
from sweeps.validation.markdown import headline, write_report


def _add_parser(sub: Any) -> None:
    p = sub.add_parser("validate", help="reproduce the papers' transfer claims (width, depth, sharpness, a "
                                        "prediction beyond the swept widths) and write a report with figures")
    p.add_argument("--profile", choices=sorted(PROFILES), default="full",
                   help="full: the report's studies (~45 min on 2 cores); smoke: toy sizes, seconds")
    p.add_argument("--out", default="docs/validation", help="folder of report.md and its figures")
    p.add_argument("--store", default="sqlite:///out/validate.db",
                   help="database URL of the studies' sweeps (a rerun resumes from it)")
    p.add_argument("--executor", choices=("ray", "local"), help="ray (default) or local (in-process)")
    p.add_argument("--workers", type=int, help="worker processes (default: one per CPU)")
    p.add_argument("--only", action="append", default=[], metavar="STUDY",
                   help="run only this study (repeatable); keys: the profile's studies")
    p.add_argument("--json", action="store_true", help="print the verdicts as one JSON document on stdout")


def _validate(args: argparse.Namespace, err: Console) -> int:
    profile = PROFILES[args.profile]
    keys = {s.key for s in profile.studies}
    unknown = sorted(set(args.only) - keys)
    if unknown:
        raise ConfigError(f"--only: unknown studies {unknown}; the {profile.name} profile has {sorted(keys)}")
    torch.set_num_threads(1)
    if args.store.startswith("sqlite:///"):
        Path(args.store.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    settings = load_settings(store=args.store, executor=args.executor, workers=args.workers)
    store = Store(settings.store)
    executor = application.make_executor(settings)
    start = time.perf_counter()
    try:
        result = run_validation(profile, store, executor, lambda line: err.print(
            f"[{time.perf_counter() - start:6.0f} s] {line}"), tuple(args.only))
    finally:
        executor.close()
    path = write_report(result, Path(args.out))
    for line in headline(result):
        err.print(line)
    err.print(f"report: {path}")
    if args.json:
        print(json.dumps({**summary(result), "report": str(path)}))
    complete = all(r.status == "completed" for r in result.studies)
    return EXIT_OK if complete else EXIT_FAILED


VALIDATE = Command("validate", _add_parser, _validate)
