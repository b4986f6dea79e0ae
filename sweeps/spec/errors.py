"""Validation errors in one format for every front end: ``field.path: what is wrong and how to fix it``.

The CLI, the REST service and the settings loader all turn pydantic's errors into lines with
`error_lines`, so a bad field reads the same wherever it was sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from paramz.errors import ConfigError


class SpecError(ConfigError):
    """A spec that does not validate; the message lists every bad field with its fix."""


_FIXES = {
    "missing": "required; add it",
    "extra_forbidden": "unknown field; remove it or check its spelling",
}


def _location(loc: Sequence[Any], skip: Iterable[str]) -> str:
    skipped = set(skip)
    return ".".join(str(part) for part in loc if part not in skipped)


def error_lines(errors: Iterable[Mapping[str, Any]], *, skip: Iterable[str] = ("body",),
                where: Callable[[str], str] | None = None) -> list[str]:
    """One line per pydantic error: ``field.path: message`` (``spec`` when the error is at the top).

    Args:
        errors: ``ValidationError.errors()`` or FastAPI's ``RequestValidationError.errors()``.
        skip: location parts to leave out (FastAPI prefixes body fields with ``body``).
        where: maps the dotted location to the name the user knows (e.g. ``PARAMZ_MAX_WIDTH``).

    Returns:
        The lines, in pydantic's order.
    """
    lines = []
    for error in errors:
        location = _location(error.get("loc", ()), skip) or "spec"
        if where is not None:
            location = where(location)
        message = _FIXES.get(error.get("type", ""), str(error.get("msg", "")).removeprefix("Value error, "))
        lines.append(f"{location}: {message}")
    return lines
