"""The model zoo: MLP (no residuals), residual MLP (pre-LN blocks), pre-LN GPT.

`build(name, width=..., depth=..., **dims)` makes one by name, for the CLI and the sweeps.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from paramz.errors import ConfigError, unknown_name
from paramz.models.base import ZooModel
from paramz.models.gpt import GPT, GPTConfig
from paramz.models.mlp import MLP, MLPConfig
from paramz.models.resmlp import ResMLP, ResMLPConfig

MODELS: dict[str, tuple[type[ZooModel], type]] = {
    "mlp": (MLP, MLPConfig),
    "resmlp": (ResMLP, ResMLPConfig),
    "gpt": (GPT, GPTConfig),
}


def register(name: str, cls: type[ZooModel], config_cls: type) -> None:
    """Adds a model family (a `ZooModel` subclass and its config dataclass with width and depth).

    Raises:
        ConfigError: not a ZooModel with ROLES and BLOCKS, or a config without width/depth.
    """
    if not (isinstance(cls, type) and issubclass(cls, ZooModel) and hasattr(cls, "ROLES") and hasattr(cls, "BLOCKS")):
        raise ConfigError(f"model {name!r}: must be a paramz.models.ZooModel subclass declaring ROLES and BLOCKS")
    if not {"width", "depth"} <= {f.name for f in fields(config_cls)}:
        raise ConfigError(f"model {name!r}: its config dataclass needs width and depth fields")
    MODELS[name] = (cls, config_cls)


def build(name: str, **dims: Any) -> ZooModel:
    """Builds a zoo model by name.

    Args:
        name: ``mlp``, ``resmlp`` or ``gpt``.
        **dims: fields of that model's config (``width``, ``depth``, ``d_in``, ``d_head``...).

    Returns:
        The model, with PyTorch's default init (call `paramz.parameterize` next).

    Raises:
        ConfigError: unknown model or field, or a non-positive width/depth.
    """
    if name not in MODELS:
        raise unknown_name("model", name, tuple(MODELS))
    cls, config_cls = MODELS[name]
    known = [f.name for f in fields(config_cls)]
    for key, value in dims.items():
        if key not in known:
            raise unknown_name(f"{name} field", key, known)
        if key in ("width", "depth") and (not isinstance(value, int) or value <= 0):
            raise ConfigError(f"{key}: must be a positive integer, got {value!r}")
    return cls(config_cls(**dims))


__all__ = ["GPT", "GPTConfig", "MLP", "MLPConfig", "MODELS", "ResMLP", "ResMLPConfig", "ZooModel", "build", "register"]
