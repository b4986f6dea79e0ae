"""The pattern language for naming parameters and modules (``roles=``, ``branches=``, ``blocks=``).

A pattern is matched against a whole dotted name, as ``model.named_parameters()`` or
``model.named_modules()`` spell it:

    *      any characters inside one name component (never a dot):  layers.*.mlp  matches
           layers.0.mlp, not layers.0.mlp.fc nor layers.mlp
    **     any characters, dots included (zero or more components):   **.bias  matches
           head.bias and layers.3.attn.o.bias
    ?      one character that is not a dot
    other  itself

There is no prefix matching: ``layers.0.mlp`` names that module only, never its children. A pattern
that names nothing is an error, raised with the closest names the model has (`require`), so a typo
cannot silently turn a rule off.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from paramz.errors import ConfigError


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append(r"[^.]*")
            i += 1
        elif pattern[i] == "?":
            out.append(r"[^.]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def matches(pattern: str, name: str) -> bool:
    """Whether ``pattern`` names ``name`` exactly (see the module docstring)."""
    return _regex(pattern).fullmatch(name) is not None


def matching(patterns: Iterable[str], names: Iterable[str]) -> list[str]:
    """The names any of ``patterns`` matches, in the order of ``names``."""
    patterns = list(patterns)
    return [n for n in names if any(matches(p, n) for p in patterns)]


def _generalized(names: Iterable[str]) -> list[str]:
    """Names with numeric components as ``*`` (``layers.3.mlp`` → ``layers.*.mlp``), then the names."""
    general = dict.fromkeys(re.sub(r"(?<=\.)\d+(?=\.|$)|^\d+(?=\.|$)", "*", n) for n in names)
    return [*general, *dict.fromkeys(names)]


def nearest(pattern: str, names: Iterable[str], n: int = 3) -> list[str]:
    """The names (or their generalized forms) closest to ``pattern``, for an error message."""
    candidates = list(dict.fromkeys(c for c in _generalized(names) if c))
    return difflib.get_close_matches(pattern, candidates, n=n, cutoff=0.4) or candidates[:n]


def require(field: str, patterns: Sequence[str], names: Sequence[str], what: str) -> None:
    """Raises when a pattern matches none of ``names``.

    Args:
        field: the argument the patterns came in (``branches``), for the message.
        patterns: the patterns given.
        names: what they may name (module or parameter names).
        what: ``modules`` or ``parameters``, for the message.

    Raises:
        ConfigError: naming each pattern that matches nothing, with the closest names.
    """
    bad = [p for p in patterns if not any(matches(p, n) for n in names)]
    if bad:
        hints = "; ".join(f"{p!r} matches no {what} (closest: {', '.join(nearest(p, names))})" for p in bad)
        raise ConfigError(f"{field}: {hints}. Patterns name whole dotted names: '*' is one component, "
                          f"'**' any number (see paramz.patterns)")


def outermost(names: Iterable[str]) -> list[str]:
    """The names that no other name of the list contains (``a.b`` contains ``a.b.c``)."""
    chosen = sorted(set(names))
    return [n for n in chosen if not any(n.startswith(other + ".") for other in chosen if other != n)]
