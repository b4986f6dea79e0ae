"""Every setting the CLI and the service read from the environment, in one place.

Values come from ``PARAMZ_*`` environment variables (or a ``.env`` file in the working directory),
else the defaults below; the CLI's flags override them for one command. Nothing else in the code
base reads ``os.environ`` for configuration.

    PARAMZ_STORE=postgresql+psycopg://user@host/paramz paramz serve
    PARAMZ_PLUGINS=mytask,mynet paramz sweep run spec.yaml     # or the JSON list ["mytask", "mynet"]

The sweep bounds (``max_trials`` ...) default to the spec's own `LimitsSpec` defaults; a sweep
launched through the service runs under the server's bounds, whatever its body says.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from paramz.errors import ConfigError
from sweeps.spec import LimitsSpec
from sweeps.spec.errors import error_lines

DEFAULT_STORE = "sqlite:///paramz.db"
_LIMITS = LimitsSpec()


class Settings(BaseSettings):
    """The environment's settings (``PARAMZ_<FIELD>``); see the module docstring."""

    model_config = SettingsConfigDict(env_prefix="PARAMZ_", env_file=".env", extra="ignore")

    # where and how sweeps run (CLI and service)
    store: str = Field(DEFAULT_STORE, description="SQLAlchemy URL of the store")
    executor: Literal["ray", "local"] = Field("ray", description="ray: actors, one per CPU; local: in-process")
    workers: int | None = Field(None, gt=0, description="Ray workers (default: one per CPU)")
    ray_address: str | None = Field(None, validation_alias=AliasChoices("PARAMZ_RAY_ADDRESS", "RAY_ADDRESS"),
                                    description="Ray cluster address (default: a new local Ray)")
    plugins: Annotated[list[str] | None, NoDecode] = Field(
        None, description="entry-point plugins to load: a JSON list or comma-separated names (unset: all installed)")
    # bounds of a sweep
    max_trials: int = Field(_LIMITS.max_trials, gt=0, description="trials per sweep (an adaptive search's budget)")
    max_steps: int = Field(_LIMITS.max_steps, gt=0, description="training steps per trial")
    max_width: int = Field(_LIMITS.max_width, gt=0, description="largest width")
    max_depth: int = Field(_LIMITS.max_depth, gt=0, description="largest depth")
    max_trial_mb: int = Field(_LIMITS.max_trial_mb, gt=0, description="estimated memory of one trial, MB")
    # the service
    run_sweeps: bool = Field(True, description="start the background runner (false: an API-only replica)")
    token: SecretStr | None = Field(None, description="bearer token required on POST/DELETE when set")
    max_active_sweeps: int = Field(4, gt=0, description="sweeps pending or running at once")
    max_body_bytes: int = Field(64 * 1024, gt=0, description="largest request body")
    max_page: int = Field(1000, gt=0, description="largest page of a list")
    cors_origins: list[str] = Field(default_factory=list, description="CORS allowed origins (empty: CORS off)")

    @field_validator("plugins", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        """``mytask,mynet`` or ``["mytask", "mynet"]`` (the environment gives a string)."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return None
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                raise ValueError(f"{text!r} is not a JSON list of names; e.g. [\"mytask\"] or mytask,mynet") from None
        return [name.strip() for name in text.split(",") if name.strip()]

    def limits(self) -> LimitsSpec:
        """The bounds every sweep launched under these settings runs within."""
        return LimitsSpec(max_trials=self.max_trials, max_steps=self.max_steps, max_width=self.max_width,
                          max_depth=self.max_depth, max_trial_mb=self.max_trial_mb)


def load_settings(**overrides: Any) -> Settings:
    """`Settings` from the environment, with ``overrides`` (CLI flags) on top; None values are ignored.

    Raises:
        ConfigError: a bad value, named as its environment variable (``PARAMZ_MAX_WIDTH: ...``).
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        lines = error_lines(exc.errors(), where=lambda field: f"PARAMZ_{field.upper().replace('.', '_')}")
        raise ConfigError("; ".join(lines)) from None
