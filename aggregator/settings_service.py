"""Configuration of inqd as a long-running service: the admin HTTP server and connection-health alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from aggregator.admin import requires_token
from aggregator.settings_policy import Duration


class AdminConfig(BaseModel):
    """`[admin]`: /healthz and /metrics on this machine only, unless you set a token."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("token",)

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 9464
    token: SecretStr | None = None  # env INQD_ADMIN__TOKEN or <secrets_dir>/admin.token

    @model_validator(mode="after")
    def _token_beyond_loopback(self) -> AdminConfig:
        has_token = self.token is not None and bool(self.token.get_secret_value())
        if self.enabled and requires_token(self.host) and not has_token:
            raise ValueError(
                f"host: binding {self.host} exposes inqd beyond this machine; set a token "
                "(env INQD_ADMIN__TOKEN or a file admin.token in secrets_dir) or use 127.0.0.1"
            )
        return self


class HealthConfig(BaseModel):
    """`[health]`: when a failing connection becomes a "연결 끊김" message and an unhealthy /healthz."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A stream failing this long (and at least three poll intervals) is announced as lost.
    lost_after: Duration = timedelta(minutes=15)

    @model_validator(mode="after")
    def _sane(self) -> HealthConfig:
        if not timedelta(minutes=1) <= self.lost_after <= timedelta(hours=24):
            raise ValueError("lost_after: use between 1m and 24h")
        return self
