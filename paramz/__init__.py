"""paramz: SP, μP, depth-μP and CompleteP as one rule table, applied to torch models.

    import paramz
    model = paramz.models.build("gpt", width=256, depth=8)
    paramz.parameterize(model, "completep", base_width=64, base_depth=2)
    opt = torch.optim.AdamW(paramz.param_groups(model, "adamw", lr=3e-3, weight_decay=0.1))

The package needs torch only. See `paramz.rules` for the table and the decisions behind it.
"""

from __future__ import annotations

from paramz import models, sharpness
from paramz.coordcheck import CoordResult, coord_check
from paramz.errors import AlreadyParameterizedError, ConfigError, ParamzError, RoleError
from paramz.groups import make_optimizer, param_groups, set_base_lr
from paramz.plan import HParams, Multipliers, ParamInfo, Plan, parameterize, plan_of
from paramz.rules import NAMES, QUANTITIES, ROLES, Parameterization, get

__all__ = [
    "NAMES", "QUANTITIES", "ROLES", "AlreadyParameterizedError", "ConfigError", "CoordResult", "HParams",
    "Multipliers", "ParamInfo", "Parameterization", "ParamzError", "Plan", "RoleError", "coord_check", "get",
    "make_optimizer", "models", "param_groups", "parameterize", "plan_of", "set_base_lr", "sharpness",
]
