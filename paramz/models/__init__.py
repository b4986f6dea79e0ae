"""Model families: the zoo (MLP, residual MLP, pre-LN GPT) and those plugins add.

`build(name, width=..., depth=..., **dims)` makes one by name, for the CLI and the sweeps. A family
is a `ScalableModel` subclass with its config dataclass (`paramz.models.base`); add one in code with
`register`, or from an installed package's entry point (group ``paramz.models``) with
`load_model_plugins`, which the front ends call at start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from paramz.errors import ConfigError, unknown_name
from paramz.models.base import ScalableModel, ZooModel, check_config
from paramz.models.gpt import GPT, GPTConfig
from paramz.models.mlp import MLP, MLPConfig
from paramz.models.resmlp import ResMLP, ResMLPConfig
from paramz.plugins import load_group

MODEL_GROUP = "paramz.models"
MODELS: dict[str, tuple[type[ScalableModel], type]] = {
    "mlp": (MLP, MLPConfig),
    "resmlp": (ResMLP, ResMLPConfig),
    "gpt": (GPT, GPTConfig),
}
_BUILT_IN = frozenset(MODELS)
_FROM_PLUGINS: set[str] = set()


def register(name: str, cls: type[ScalableModel], config_cls: type | None = None) -> None:
    """Adds a model family under ``name``.

    Args:
        name: the name specs and the CLI use.
        cls: a `ScalableModel` subclass.
        config_cls: its config dataclass (default: ``cls.CONFIG``).

    Raises:
        ConfigError: not a ScalableModel, no config dataclass with width and depth, or a built-in name.
    """
    if not (isinstance(cls, type) and issubclass(cls, ScalableModel)):
        raise ConfigError(f"model {name!r}: must be a paramz.models.ScalableModel subclass (see paramz.models.base)")
    config_cls = config_cls or getattr(cls, "CONFIG", None)
    if config_cls is None or not {"width", "depth"} <= {f.name for f in fields(config_cls)}:
        raise ConfigError(f"model {name!r}: needs a CONFIG dataclass with width and depth fields")
    if name in _BUILT_IN and MODELS[name][0] is not cls:
        raise ConfigError(f"model {name!r}: a built-in family has that name; pick another")
    MODELS[name] = (cls, config_cls)


def load_model_plugins(allow: Iterable[str] | None = None, *, replace: bool = False) -> list[str]:
    """Registers the model families of installed packages (entry-point group ``paramz.models``).

    Args:
        allow: names to load (None: all installed).
        replace: first drop every family an earlier call loaded (so ``allow`` is exact).

    Returns:
        The names registered.

    Raises:
        ConfigError: an entry point that fails to import or is not a valid family (named).
    """
    return load_group(MODEL_GROUP, MODELS, register, _FROM_PLUGINS, allow, replace=replace)


def build(name: str, **dims: Any) -> ScalableModel:
    """Builds a model of a registered family by name.

    Args:
        name: ``mlp``, ``resmlp``, ``gpt`` or a registered plugin's name.
        **dims: fields of that family's config (``width``, ``depth``, ``d_in``, ``d_head``...).

    Returns:
        The model, with PyTorch's default init (call `paramz.parameterize` next).

    Raises:
        ConfigError: unknown family or field, or a bad value (named).
    """
    if name not in MODELS:
        raise unknown_name("model", name, tuple(MODELS))
    cls, config_cls = MODELS[name]
    known = [f.name for f in fields(config_cls)]
    for key in dims:
        if key not in known:
            raise unknown_name(f"{name} field", key, known)
    try:
        config = config_cls(**dims)
    except TypeError as exc:  # a field without a default was not given
        raise ConfigError(f"{name}: {exc}") from None
    check_config(config)
    return cls(config)


__all__ = ["GPT", "MODELS", "MLP", "GPTConfig", "MLPConfig", "ResMLP", "ResMLPConfig", "ScalableModel", "ZooModel",
           "build", "load_model_plugins", "register"]
