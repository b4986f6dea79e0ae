"""What every zoo model offers `paramz.parameterize`: declared roles, blocks and shape copies.

A zoo model declares the role of each of its parameters (``ROLES``, fnmatch patterns, first match
wins) and its residual blocks (``BLOCKS``), so nothing is guessed; `tests/paramz/test_user_module.py`
checks that the declaration agrees with what the base-shape inference would find. It applies its
forward multipliers itself (``self.multipliers``, set by `parameterize`), in plain sight in
``forward``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import torch
from torch import nn

from paramz.plan import Multipliers


class ZooModel(nn.Module):
    """Base of the zoo models: a config dataclass with ``width`` and ``depth`` fields."""

    ROLES: ClassVar[dict[str, str]]
    BLOCKS: ClassVar[tuple[str, ...]]

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config
        self.multipliers = Multipliers()  # identity until parameterize() sets them

    @property
    def width(self) -> int:
        return self.config.width

    @property
    def depth(self) -> int:
        return self.config.depth

    def scaled(self, width: int) -> nn.Module:
        """The same model at another width, on the meta device (shapes only, no memory)."""
        with torch.device("meta"):
            return type(self)(replace(self.config, width=width))

    def coord_modules(self) -> dict[str, nn.Module]:
        """Modules whose outputs a coordinate check records, by names stable across widths.

        Residual models name the residual stream after block i ``stream.i`` and after the last
        block ``stream.final``: only the latter is comparable across depths.
        """
        raise NotImplementedError
