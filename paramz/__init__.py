"""paramz: SP, μP, depth-μP and CompleteP as one rule table, applied to torch models.

    import paramz
    model = paramz.models.build("gpt", width=256, depth=8)
    paramz.parameterize(model, "completep", base_width=64, base_depth=2)
    opt = torch.optim.AdamW(paramz.param_groups(model, "adamw", lr=3e-3, weight_decay=0.1))

The package needs torch only. See `paramz.rules` for the table and docs/rules.md for the decisions
behind it.
"""

from __future__ import annotations

from paramz import models, patterns, sharpness
from paramz.coordcheck import CoordResult, coord_check
from paramz.errors import AlreadyParameterizedError, ConfigError, ParamzError, ParamzWarning, RoleError
from paramz.explain import explain, explain_rows
from paramz.groups import make_optimizer, param_groups, set_base_lr
from paramz.parameterize import parameterize
from paramz.plan import HParams, Multipliers, ParamInfo, Plan, plan_of
from paramz.roles import build_infos
from paramz.rules import NAMES, QUANTITIES, ROLES, Parameterization, get

__all__ = [
    "NAMES", "QUANTITIES", "ROLES", "AlreadyParameterizedError", "ConfigError", "CoordResult", "HParams",
    "Multipliers", "ParamInfo", "Parameterization", "ParamzError", "ParamzWarning", "Plan", "RoleError",
    "build_infos", "coord_check", "explain", "explain_rows", "get", "make_optimizer", "models", "param_groups",
    "parameterize", "patterns", "plan_of", "set_base_lr", "sharpness",
]
