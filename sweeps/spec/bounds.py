"""The typed, bounded values a spec is made of: no bool read as a number, no size without a bound.

A bound here is what any server could run; a server's own, tighter limits (`LimitsSpec`, the
``PARAMZ_MAX_*`` settings) apply on top.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictInt

INT64_MAX = 2**63 - 1              # the store keeps seeds in signed 64-bit columns
MAX_SIZE = 2**20                   # widths, dims, batch sizes: a million is beyond any CPU or GPU trial here
MAX_STEPS = 10**9


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


Int = StrictInt
"""An integer, never a bool, a float or a string."""
Float = Annotated[float, BeforeValidator(_not_bool)]
"""A number (YAML's ``1e-8`` string included), never a bool."""
Size = Annotated[StrictInt, Field(ge=1, le=MAX_SIZE)]
Seed = Annotated[StrictInt, Field(ge=0, le=INT64_MAX, description="0 ≤ seed < 2^63 (a signed 64-bit integer)")]
Steps = Annotated[StrictInt, Field(ge=1, le=MAX_STEPS)]
