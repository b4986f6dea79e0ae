"""What a failed trial says in public: the exception's type and message, never a trace.

The store (and so REST and the dashboards, which anyone may read) keeps one line per failed trial:
``ValueError: …`` with ANSI colour codes, file paths, process ids, addresses and actor ids taken
out. The whole trace goes to the log of the process that ran the sweep (the server's log for
REST), where an operator can read it.
"""

from __future__ import annotations

import logging
import re
import traceback

log = logging.getLogger("sweeps.run")

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_SCRUB = [
    (re.compile(r"\b(pid|PID|ip|node_id|actor_id|worker_id|Actor ID|Worker ID)[=: ]+[\w.:-]+"), r"\1=<hidden>"),
    (re.compile(r"(?:[A-Za-z]:)?(?:/[\w.@+-]+){2,}/?"), "<path>"),                 # absolute paths
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<address>"),            # IPv4 (and port)
    (re.compile(r"\b[0-9a-f]{24,}\b"), "<id>"),                                    # Ray's hex ids
]
MAX_LENGTH = 500


def public_message(exc: BaseException) -> str:
    """``Type: message`` of ``exc`` (of its cause, for an error Ray wraps), scrubbed and at most 500 characters."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        exc = cause
    text = f"{type(exc).__name__}: {exc}".strip()
    text = _ANSI.sub("", text)
    lines = [line for line in text.splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    for pattern, repl in _SCRUB:
        text = pattern.sub(repl, text)
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 1] + "…"


def report_failure(trial_id: str, exc: BaseException) -> str:
    """Logs the whole trace of a failed trial and returns its public one-line message."""
    log.error("trial %s failed:\n%s", trial_id, "".join(traceback.format_exception(exc)))
    return public_message(exc)
