"""What a model family implements so that paramz can build and parameterize it at any width and depth.

`ScalableModel` is the contract of a model family: the zoo's models and a plugin's (an installed
package's ``paramz.models`` entry point, see `paramz.models.load_model_plugins`) alike. A family has
a config dataclass with ``width`` and ``depth`` (``CONFIG``), can build itself at another width on
the meta device (`scaled`, which the base-shape inference needs), and names the modules a
coordinate check records (`coord_modules`).

Two ways to carry the forward multipliers:
  * ``APPLIES_MULTIPLIERS = True`` (the zoo): the model declares the role of every parameter
    (``ROLES``) and its blocks (``BLOCKS``), and applies ``self.multipliers`` in ``forward`` in
    plain sight;
  * ``APPLIES_MULTIPLIERS = False`` (a plugin's default, like a user's module): roles are inferred
    from module types and base shapes (``ROLES`` only for what inference cannot place), the
    residual branches are named by ``BRANCHES`` patterns and paramz installs hooks: embedding
    output × α_in, readout input × α_out/mN, each branch output × a·mL^−α. The attention-logit
    scale cannot be hooked: a model with a ``d_head`` attribute reads ``self.multipliers.attn_scale``.
`tests/paramz/test_user_module.py` checks that the zoo's declared roles agree with inference.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import replace
from typing import Any, ClassVar

import torch
from torch import nn

from paramz.errors import ConfigError
from paramz.plan import Multipliers

ACTIVATIONS = ("relu", "gelu", "tanh", "silu")


def check_config(config: Any) -> None:
    """Refuses a config whose fields have the wrong type or a non-positive size, naming the field.

    Integers are sizes (positive, and never a bool); booleans must be booleans; an ``activation``
    must be one of `ACTIVATIONS`.

    Raises:
        ConfigError: naming the field and what it accepts.
    """
    if not dataclasses.is_dataclass(config):
        raise ConfigError(f"config: must be a dataclass instance, got {type(config).__name__}")
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        value, kind = getattr(config, f.name), hints.get(f.name)
        if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise ConfigError(f"{f.name}: must be a positive integer, got {value!r}")
        if kind is bool and not isinstance(value, bool):
            raise ConfigError(f"{f.name}: must be true or false, got {value!r}")
        if kind is str and not isinstance(value, str):
            raise ConfigError(f"{f.name}: must be a string, got {value!r}")
        if f.name == "activation" and value not in ACTIVATIONS:
            raise ConfigError(f"activation: unknown value {value!r}; choose one of {', '.join(ACTIVATIONS)}")


class ScalableModel(nn.Module):
    """A model family paramz can build at any width and depth (see the module docstring).

    Class attributes:
        CONFIG: the config dataclass (fields ``width``, ``depth`` and fixed dims with defaults).
        ROLES: ``{pattern: role}`` over parameter names (`paramz.patterns`), first match wins.
        BRANCHES: patterns of residual-branch modules (hooked when not ``APPLIES_MULTIPLIERS``).
        BLOCKS: patterns of residual-block modules (their parameters get depth factors);
            empty means ``BRANCHES``.
        APPLIES_MULTIPLIERS: the model applies ``self.multipliers`` itself in ``forward``.
    """

    CONFIG: ClassVar[type]
    ROLES: ClassVar[dict[str, str]] = {}
    BRANCHES: ClassVar[tuple[str, ...]] = ()
    BLOCKS: ClassVar[tuple[str, ...]] = ()
    APPLIES_MULTIPLIERS: ClassVar[bool] = False

    def __init__(self, config: Any) -> None:
        check_config(config)
        super().__init__()
        self.config = config
        self.multipliers = Multipliers()  # identity until parameterize() sets them

    @classmethod
    def block_patterns(cls) -> tuple[str, ...]:
        """The residual-block patterns (``BLOCKS``, else ``BRANCHES``)."""
        return cls.BLOCKS or cls.BRANCHES

    @classmethod
    def has_residual_blocks(cls) -> bool:
        """Whether depth rules apply to this family."""
        return bool(cls.block_patterns())

    @property
    def width(self) -> int:
        return int(self.config.width)

    @property
    def depth(self) -> int:
        return int(self.config.depth)

    def scaled(self, width: int) -> nn.Module:
        """The same model at another width, on the meta device (shapes only, no memory)."""
        with torch.device("meta"):
            return type(self)(replace(self.config, width=width))

    def coord_modules(self) -> dict[str, nn.Module]:
        """Modules whose outputs a coordinate check records, by names stable across sizes.

        Residual models name the residual stream after block i ``stream.i`` and after the last
        block ``stream.final``: only the latter is comparable across depths.
        """
        raise NotImplementedError(f"{type(self).__name__}: define coord_modules() to run coordinate checks")


class ZooModel(ScalableModel):
    """A model of the zoo: it declares every role and block, and applies its multipliers in ``forward``."""

    APPLIES_MULTIPLIERS = True
