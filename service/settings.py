"""Service settings, from the environment (``PARAMZ_*``) or a ``.env`` file, with safe defaults.

Every bound a request can hit lives here, so an operator sets it in one place. The server's limits
replace whatever ``limits`` a request body carries (a client cannot raise them).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARAMZ_", env_file=".env", extra="ignore")

    store: str = Field("sqlite:///paramz.db", description="SQLAlchemy URL of the store")
    executor: Literal["ray", "local"] = Field("ray", description="ray: actors, one per CPU; local: in-process")
    workers: int | None = Field(None, gt=0, description="Ray workers (default: one per CPU)")
    ray_address: str | None = Field(None, description="Ray cluster address (default: a local Ray)")
    run_sweeps: bool = Field(True, description="start the background runner (false: an API-only replica)")
    token: SecretStr | None = Field(None, description="bearer token required on POST/DELETE when set")
    max_trials: int = Field(2000, gt=0, description="trials per sweep (an adaptive search's budget)")
    max_steps: int = Field(100_000, gt=0, description="training steps per trial")
    max_width: int = Field(8192, gt=0)
    max_depth: int = Field(256, gt=0)
    max_active_sweeps: int = Field(4, gt=0, description="sweeps pending or running at once")
    max_body_bytes: int = Field(64 * 1024, gt=0, description="largest request body")
    max_page: int = Field(1000, gt=0, description="largest page of a list")
    plugins: list[str] | None = Field(None, description="entry-point plugins to load (None: all installed)")
    cors_origins: list[str] = Field(default_factory=list, description="CORS allowed origins (empty: CORS off)")

    def limits(self) -> dict[str, int]:
        """The spec ``limits`` block every sweep launched through the service runs under."""
        return {"max_trials": self.max_trials, "max_steps": self.max_steps, "max_width": self.max_width,
                "max_depth": self.max_depth}
