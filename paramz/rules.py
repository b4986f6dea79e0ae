"""The scaling rules of SP, μP, depth-μP and CompleteP, as one table of data.

Every rule is a multiplicative correction of a base hyperparameter tuned at the base shape
``(N0, L0)``: ``factor = mN**e_width * mL**e_depth`` with ``mN = N/N0`` and ``mL = L/L0``. This
module holds the exponents ``(e_width, e_depth)`` per parameter role and per quantity, and nothing
else; `paramz.plan` turns them into numbers for the parameters of a model.

Sources (see docs/rules.md): Tensor Programs V (μP; arXiv 2203.03466, Table 8 form of the
readout), Tensor Programs VI (depth-μP, arXiv 2310.02244), Dey et al. "CompleteP"
(arXiv 2505.01618, Table 1), the ``mup`` library 1.0.0.

Roles:
    emb        input layer: token/position embeddings, first Linear of an MLP (fan-in fixed)
    hidden     matrices whose fan-in and fan-out both scale with width (q, k, v, o, fc1, fc2)
    out        readout / unembedding / classifier (fan-in scales, fan-out fixed)
    block-vec  biases and norm gains inside residual blocks
    end-vec    final norm, embedding-side and readout biases

Quantities (the columns):
    init      init std, relative to σ (the std at the base shape)
    mult      forward multiplier of the layer's output (readout: α_out/mN)
    adam_lr   Adam/AdamW learning rate
    sgd_lr    SGD learning rate
    adam_eps  Adam ε (ε must shrink like the gradients it is added to)
    adam_wd   AdamW weight decay (PyTorch's coupled form: decay = lr·λ·w)
    sgd_wd    SGD weight decay (coupled to the LR the same way)

Decisions where the sources leave room (documented in the README too):
    * Default SP is PyTorch's fan-in init with one global LR (TP V's SP); ``sp_init="const"`` gives
      the GPT-2/nanoGPT const-std SP that CompleteP compares against.
    * Weight decay keeps ``lr·λ`` constant across width for matrices (AdamW: hidden λ·mN; SGD:
      emb/out λ/mN, as ``mup.MuSGD``); it has no depth factor. Vectors are never decayed.
    * A parameter with no dimension that scales with width (the readout bias) gets no width
      factor at all: its gradient is Θ(1), so its LR (η, docs/rules.md) and its ε stay constant.
    * Depth factors apply only to parameters inside residual blocks (hidden, block-vec); the
      SGD depth factor ``mL**(2α−1)`` is derived from TP VI (update ∝ L**(α−γ), γ = 1−α).
    * The Adam embedding LR exponent is 0 under μP; ``emb_lr_exponent`` overrides it
      (u-μP uses −1/2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

from paramz.errors import ConfigError, unknown_name

Role = Literal["emb", "hidden", "out", "block-vec", "end-vec"]
ROLES: tuple[str, ...] = ("emb", "hidden", "out", "block-vec", "end-vec")
QUANTITIES: tuple[str, ...] = ("init", "mult", "adam_lr", "sgd_lr", "adam_eps", "adam_wd", "sgd_wd")
OPTIMIZERS: tuple[str, ...] = ("adamw", "sgd")

# Width exponents of μP, TP V Table 8 form. Columns in the order of QUANTITIES.
#               init  mult adam_lr sgd_lr adam_eps adam_wd sgd_wd
_MUP_WIDTH = {
    "emb":       (0.0,  0.0,  0.0,   1.0,   -1.0,    0.0,   -1.0),
    "hidden":    (-0.5, 0.0, -1.0,   0.0,   -1.0,    1.0,    0.0),
    "out":       (0.0, -1.0,  0.0,   1.0,   -1.0,    0.0,   -1.0),
    "block-vec": (0.0,  0.0,  0.0,   1.0,   -1.0,    0.0,    0.0),
    "end-vec":   (0.0,  0.0,  0.0,   1.0,   -1.0,    0.0,    0.0),
}
# SP: no LR/ε/wd/multiplier rule; only the init depends on the SP variant.
_SP_INIT_WIDTH = {
    "fan_in": {"hidden": -0.5, "out": -0.5},  # PyTorch default: std ∝ fan_in**-1/2
    "const": {},                              # GPT-2 style: one std for every width
}


def _depth_exponents(alpha: float) -> dict[str, float]:
    """Depth exponents of the quantities of in-block parameters (TP VI, CompleteP Table 1)."""
    return {"adam_lr": alpha - 1.0, "sgd_lr": 2.0 * alpha - 1.0, "adam_eps": -alpha}


@dataclass(frozen=True)
class Parameterization:
    """One row of the table: which rules are on, with their options.

    Attributes:
        name: registry name (``sp``, ``mup``, ``depth-mup``, ``completep``).
        width_rules: μP width rules on (``w = 1`` in docs/rules.md) or off (SP).
        alpha: depth exponent α of the residual branch multiplier ``a·mL**-α``; None means no
            depth rule (SP, μP).
        sp_init: SP init variant, ``fan_in`` (PyTorch default) or ``const`` (GPT-2 style).
        zero_init_readout: readout weight initialised to zero (TP V recommends it). Changes the
            base model itself, so it breaks equality with SP at the base shape on purpose.
        zero_init_query: query projection initialised to zero (TP V). Same caveat.
        emb_lr_exponent: override of the Adam embedding-LR width exponent (μP: 0, u-μP: −0.5).
        description: one line for tables and the REST listing.
    """

    name: str
    width_rules: bool
    alpha: float | None = None
    sp_init: Literal["fan_in", "const"] = "fan_in"
    zero_init_readout: bool = False
    zero_init_query: bool = False
    emb_lr_exponent: float | None = None
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.alpha is not None and not 0.5 <= self.alpha <= 1.0:
            raise ConfigError(f"alpha: {self.alpha} is outside [0.5, 1]; depth-μP is 0.5, CompleteP is 1")
        if self.sp_init not in _SP_INIT_WIDTH:
            raise unknown_name("sp_init", self.sp_init, tuple(_SP_INIT_WIDTH))
        if self.sp_init != "fan_in" and self.width_rules:
            raise ConfigError(f"sp_init: only SP has init variants; remove it for {self.name!r}")

    @property
    def has_depth_rules(self) -> bool:
        """Whether residual branches and in-block parameters get depth factors."""
        return self.alpha is not None

    def exponents(self, role: str, quantity: str, *, in_block: bool = True) -> tuple[float, float]:
        """The (width, depth) exponents of one quantity for one role.

        Args:
            role: one of `ROLES`.
            quantity: one of `QUANTITIES`.
            in_block: whether the parameter sits inside a residual block (depth factors apply
                only there).

        Returns:
            ``(e_width, e_depth)`` such that the factor is ``mN**e_width * mL**e_depth``.

        Raises:
            RoleError-like ConfigError: unknown role or quantity.
        """
        if role not in ROLES:
            raise unknown_name("role", role, ROLES)
        if quantity not in QUANTITIES:
            raise unknown_name("quantity", quantity, QUANTITIES)
        column = QUANTITIES.index(quantity)
        if self.width_rules:
            e_width = _MUP_WIDTH[role][column]
            if quantity == "adam_lr" and role == "emb" and self.emb_lr_exponent is not None:
                e_width = self.emb_lr_exponent
        else:
            e_width = _SP_INIT_WIDTH[self.sp_init].get(role, 0.0) if quantity == "init" else 0.0
        e_depth = 0.0
        if self.alpha is not None and in_block and role in ("hidden", "block-vec"):
            e_depth = _depth_exponents(self.alpha).get(quantity, 0.0)
        return e_width, e_depth

    def residual_multiplier(self, depth_ratio: float, a: float = 1.0) -> float:
        """Multiplier of every residual branch, ``a·mL**-α`` (1·a without depth rules)."""
        return a * depth_ratio ** -self.alpha if self.alpha is not None else a

    def attention_scale(self, d_head: int, base_d_head: int, alpha_attn: float = 1.0) -> float:
        """Attention-logit scale: SP ``1/√d_head``; μP ``α_attn·√d_head0/d_head``.

        The μP form is written ``(α_attn/√d_head0)·(d_head0/d_head)`` so that at the base shape it
        is bit-for-bit SP's ``1/√d_head`` (with α_attn = 1).
        """
        if not self.width_rules:
            return alpha_attn / math.sqrt(d_head)
        return alpha_attn / math.sqrt(base_d_head) * (base_d_head / d_head)

    def table(self) -> dict[str, object]:
        """The rules as plain data (for the CLI, the REST service and the docs)."""
        rows = {
            role: {q: dict(zip(("width", "depth"), self.exponents(role, q))) for q in QUANTITIES}
            for role in ROLES
        }
        return {
            "name": self.name,
            "description": self.description,
            "alpha": self.alpha,
            "sp_init": self.sp_init if not self.width_rules else None,
            "zero_init_readout": self.zero_init_readout,
            "zero_init_query": self.zero_init_query,
            "roles": rows,
            "residual_branch": {"width": 0.0, "depth": -self.alpha if self.alpha is not None else 0.0},
            "attention_logits": "alpha_attn*sqrt(d_head0)/d_head" if self.width_rules else "1/sqrt(d_head)",
        }


# The registry: one entry per named parameterization. Options are applied by `get`.
_REGISTRY: dict[str, Parameterization] = {
    p.name: p
    for p in (
        Parameterization("sp", width_rules=False,
                         description="standard parameterization: PyTorch fan-in init, one global LR"),
        Parameterization("mup", width_rules=True,
                         description="μP (TP V, Table 8 readout): width transfer"),
        Parameterization("depth-mup", width_rules=True, alpha=0.5,
                         description="μP + depth-μP (TP VI, α = 1/2): width and depth transfer"),
        Parameterization("completep", width_rules=True, alpha=1.0,
                         description="μP + CompleteP (α = 1): width and depth transfer"),
    )
}
NAMES: tuple[str, ...] = tuple(_REGISTRY)


def get(name: str | Parameterization, **options: object) -> Parameterization:
    """Looks up a parameterization by name and applies options.

    Args:
        name: a registry name (see `NAMES`) or a `Parameterization` (returned as is, with options).
        **options: fields of `Parameterization` to override: ``alpha`` (depth family only, in
            [0.5, 1]), ``sp_init`` (SP only), ``zero_init_readout``, ``zero_init_query``,
            ``emb_lr_exponent``.

    Returns:
        The frozen `Parameterization`.

    Raises:
        ConfigError: unknown name or option, or an option that this parameterization lacks.
    """
    base = name if isinstance(name, Parameterization) else _REGISTRY.get(name)
    if base is None:
        raise unknown_name("parameterization", name, NAMES)
    allowed = {"alpha", "sp_init", "zero_init_readout", "zero_init_query", "emb_lr_exponent"}
    for key in options:
        if key not in allowed:
            raise unknown_name("option", key, sorted(allowed))
    options = {k: v for k, v in options.items() if v is not None}
    if "alpha" in options and base.alpha is None:
        raise ConfigError(f"alpha: {base.name!r} has no depth rule; use depth-mup or completep to set alpha")
    if "alpha" in options:
        options["alpha"] = float(options["alpha"])  # type: ignore[arg-type]
    return replace(base, **options)  # type: ignore[arg-type]
