"""Deployment settings: where the store lives, the reporting currency, which policy.

Read once by the composition root, from (strongest first) ``UNSNAG_*`` environment
variables, then the ``[unsnag]`` table of ``unsnag.toml`` in the current directory (or the
file ``UNSNAG_CONFIG`` names), then the defaults below, which run the embedded
single-site setup with no configuration at all. docs/configuration.md lists them all.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from unsnag.errors import UnsnagError

CONFIG_ENV = "UNSNAG_CONFIG"
DEFAULT_CONFIG = "unsnag.toml"
TABLE = "unsnag"


class SettingsError(UnsnagError):
    """The settings (environment or ``unsnag.toml``) are missing, malformed or invalid."""

    title = "invalid settings"


def config_path() -> Path:
    """The settings file: ``$UNSNAG_CONFIG`` if set, else ``./unsnag.toml``."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


class Settings(BaseSettings):
    """Everything that differs between one deployment of unsnag and another."""

    model_config = SettingsConfigDict(env_prefix="UNSNAG_", extra="forbid", frozen=True)

    database_url: str = Field(
        default="sqlite:///unsnag.db",
        description="SQLAlchemy URL of the store: sqlite:///file.db or postgresql://…",
        min_length=1,
    )
    currency: str = Field(
        default="USD",
        description="ISO 4217 code that money amounts are reported in",
        pattern=r"^[A-Z]{3}$",
    )
    policy_path: str | None = Field(
        default=None,
        description="YAML policy file; None means the policy shipped with unsnag",
    )

    # --- the API and dashboard (unsnag serve) ------------------------------------------
    webhook_secrets: dict[str, str] = Field(
        default_factory=dict,
        description="Inbound HMAC-SHA256 secret per event source (system or full source, "
        'e.g. {"erp": "…"}); events from a source listed here must come signed '
        "(X-Unsnag-Timestamp, X-Unsnag-Signature: sha256=HMAC(secret, ts + '.' + body))",
    )
    webhook_tolerance_s: int = Field(
        default=300, ge=1, description="How old a signed request's timestamp may be"
    )
    oidc_jwks_url: str | None = Field(
        default=None, description="JWKS URL of an OIDC provider; None turns OIDC tokens off"
    )
    oidc_issuer: str | None = Field(default=None, description="Required `iss` of OIDC tokens")
    oidc_audience: str | None = Field(default=None, description="Required `aud` of OIDC tokens")
    oidc_role_claim: str = Field(default="unsnag_role", description="Claim naming the role")
    oidc_team_claim: str = Field(default="unsnag_team", description="Claim naming the team")
    rate_limit_per_minute: int = Field(
        default=1200, ge=1, description="Requests per minute per key (token bucket)"
    )
    rate_limit_burst: int = Field(default=200, ge=1, description="Bucket size (burst)")
    max_body_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, description="Largest request body accepted"
    )
    max_batch_events: int = Field(
        default=5000, ge=1, description="Most events in one POST /v1/events"
    )
    session_secret: str | None = Field(
        default=None,
        description="Key that signs dashboard sessions and CSRF tokens; None makes a random "
        "one at start (sessions end when the server restarts)",
    )
    analytics_max_age_s: float = Field(
        default=60.0,
        ge=0,
        description="How stale the KPIs, Paretos and overview may get while the store "
        "changes: their frames are rebuilt from the whole log at most this often",
    )
    metrics_public: bool = Field(
        default=True, description="Serve /metrics without a key (for a Prometheus scraper)"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(
            settings_cls, toml_file=config_path(), toml_table_header=(TABLE,)
        )
        return (init_settings, env_settings, toml)


def load_settings() -> Settings:
    """The settings in force, or :class:`SettingsError` saying what is wrong with them."""
    path = config_path()
    if os.environ.get(CONFIG_ENV) and not path.is_file():
        raise SettingsError(f"{CONFIG_ENV} names {str(path)!r}, which is not a file")
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid settings in {path} or UNSNAG_*: {problems}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}") from None
    except KeyError:
        raise SettingsError(f"{path} has no [{TABLE}] table") from None
