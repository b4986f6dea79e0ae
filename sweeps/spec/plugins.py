"""User tasks and models: registered by installed packages (entry points) or in code, never by a module
path sent in a spec or a request.

An installed package adds to the registries through the entry-point groups

    [project.entry-points."paramz.tasks"]
    mytask = "mypkg.tasks:MyTask"              # a sweeps.spec.tasks.Task subclass with KEYS and DIMS
    [project.entry-points."paramz.models"]
    mynet = "mypkg.models:MyNet"               # a paramz.models.ScalableModel subclass with a CONFIG

and `load_plugins` registers them. Nothing is loaded as a side effect of an import: the front ends
call it at start (the CLI, the service, each Ray worker), with the allowlist of the settings
(``PARAMZ_PLUGINS``, see `sweeps.settings`); ``replace=True`` first drops plugins an earlier call
loaded, so the allowlist is exact.
"""

from __future__ import annotations

from collections.abc import Iterable

from paramz.errors import ConfigError
from paramz.models import ScalableModel, load_model_plugins
from paramz.models import register as register_model_family
from paramz.plugins import load_group
from sweeps.spec.tasks import TASKS, Task

TASK_GROUP = "paramz.tasks"
_LOADED: set[str] = set()  # the tasks load_plugins registered


def register_task(name: str, cls: type[Task]) -> None:
    """Adds a task class under ``name``.

    Raises:
        ConfigError: not a Task subclass declaring KEYS and DIMS.
    """
    if not (isinstance(cls, type) and issubclass(cls, Task) and cls.DIMS):
        raise ConfigError(f"task {name!r}: must be a sweeps.spec.tasks.Task subclass declaring KEYS and DIMS")
    TASKS[name] = cls


def register_model(name: str, cls: type[ScalableModel]) -> None:
    """Adds a model family (a `paramz.models.ScalableModel` subclass with its ``CONFIG`` dataclass)."""
    register_model_family(name, cls)


def load_plugins(allow: Iterable[str] | None = None, *, replace: bool = False) -> list[str]:
    """Registers the tasks and model families of installed packages' entry points.

    Args:
        allow: names to load (None: all installed).
        replace: first drop every plugin an earlier call registered (so ``allow`` is exact).

    Returns:
        The names registered (tasks, then models).

    Raises:
        ConfigError: an entry point that fails to load or is not a valid task or model (named).
    """
    tasks = load_group(TASK_GROUP, TASKS, register_task, _LOADED, allow, replace=replace)
    return tasks + load_model_plugins(allow, replace=replace)
