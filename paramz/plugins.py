"""Entry-point plugins, loaded the same way for every registry (model families here, tasks in sweeps)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from importlib.metadata import entry_points
from typing import Any

from paramz.errors import ConfigError


def load_group(group: str, registry: MutableMapping[str, Any], register: Callable[[str, Any], None],
               loaded: set[str], allow: Iterable[str] | None = None, *, replace: bool = False) -> list[str]:
    """Registers the installed entry points of ``group`` with ``register``.

    Args:
        group: the entry-point group (``paramz.models``, ``paramz.tasks``).
        registry: where ``register`` puts them (``replace`` drops from it).
        register: ``(name, object)``; raises `ConfigError` for an object it refuses.
        loaded: the names an earlier call registered (kept up to date).
        allow: names to load (None: all installed).
        replace: first drop every name an earlier call registered, so ``allow`` is exact.

    Returns:
        The names registered by this call.

    Raises:
        ConfigError: an entry point that fails to import, or that ``register`` refuses (named).
    """
    if replace:
        for name in loaded:
            registry.pop(name, None)
        loaded.clear()
    allowed = None if allow is None else set(allow)
    names = []
    for ep in entry_points(group=group):
        if allowed is not None and ep.name not in allowed:
            continue
        try:
            obj = ep.load()
        except Exception as exc:  # noqa: BLE001 - any import error of a plugin
            raise ConfigError(f"plugin {group}:{ep.name} ({ep.value}) failed to load: {exc}") from None
        register(ep.name, obj)
        loaded.add(ep.name)
        names.append(ep.name)
    return names
