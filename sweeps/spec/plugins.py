"""User tasks and models: registered by installed packages (entry points) or in code, never by a module
path sent in a spec or a request.

An installed package adds to the registries through the entry-point groups

    [project.entry-points."paramz.tasks"]
    mytask = "mypkg.tasks:MyTask"              # a sweeps.spec.tasks.Task subclass with KEYS and DIMS
    [project.entry-points."paramz.models"]
    mynet = "mypkg.models:MyNet"               # a paramz ZooModel subclass with a CONFIG dataclass

and `load_plugins` registers them. Nothing is loaded as a side effect of an import: the front ends
call it at start (the CLI, the service, each Ray worker), with the allowlist of the settings
(``PARAMZ_PLUGINS``, see `sweeps.settings`); ``replace=True`` first drops plugins an earlier call
loaded, so the allowlist is exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import entry_points

from paramz.errors import ConfigError
from paramz.models import MODELS
from paramz.models import register as register_model_class
from sweeps.spec.tasks import TASKS, Task

TASK_GROUP, MODEL_GROUP = "paramz.tasks", "paramz.models"
_LOADED: dict[str, str] = {}  # plugin name → its group, for what load_plugins registered


def register_task(name: str, cls: type[Task]) -> None:
    """Adds a task class under ``name``.

    Raises:
        ConfigError: not a Task subclass declaring KEYS and DIMS.
    """
    if not (isinstance(cls, type) and issubclass(cls, Task) and cls.DIMS):
        raise ConfigError(f"task {name!r}: must be a sweeps.spec.tasks.Task subclass declaring KEYS and DIMS")
    TASKS[name] = cls


def register_model(name: str, cls: type) -> None:
    """Adds a model family; ``cls.CONFIG`` is its config dataclass (with width and depth)."""
    register_model_class(name, cls, getattr(cls, "CONFIG", None) or _missing_config(name))


def _missing_config(name: str) -> type:
    raise ConfigError(f"model {name!r}: the class needs a CONFIG attribute naming its config dataclass")


def load_plugins(allow: Iterable[str] | None = None, *, replace: bool = False) -> list[str]:
    """Registers the tasks and models of installed packages' entry points.

    Args:
        allow: names to load (None: all).
        replace: first drop every plugin registered by an earlier call (an exact allowlist).

    Returns:
        The names registered.

    Raises:
        ConfigError: an entry point that fails to load or is not a valid task/model (named).
    """
    if replace:
        for name, group in _LOADED.items():
            (TASKS if group == TASK_GROUP else MODELS).pop(name, None)
        _LOADED.clear()
    allowed = None if allow is None else set(allow)
    loaded = []
    for group, register in ((TASK_GROUP, register_task), (MODEL_GROUP, register_model)):
        for ep in entry_points(group=group):
            if allowed is not None and ep.name not in allowed:
                continue
            try:
                obj = ep.load()
            except Exception as exc:  # noqa: BLE001 - any import error of a plugin
                raise ConfigError(f"plugin {group}:{ep.name} ({ep.value}) failed to load: {exc}") from None
            register(ep.name, obj)
            _LOADED[ep.name] = group
            loaded.append(ep.name)
    return loaded
