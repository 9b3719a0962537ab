"""Configuration of inqd as a long-running service: the admin HTTP server and connection-health alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from aggregator.admin import requires_token
from aggregator.settings.notify import https_or_loopback
from aggregator.settings.policy import Duration
from aggregator.settings.problems import Problem
from policies.control_effects import ControlPolicy


class AdminConfig(BaseModel):
    """`[admin]`: /healthz and /metrics on this machine only, unless you set a token."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("token",)

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 9464
    token: SecretStr | None = None  # env INQD_ADMIN__TOKEN or <secrets_dir>/admin.token
    # Where the phone reaches this admin API (a reverse proxy, Tailscale, ...). With a token, ntfy messages get
    # 처리함 / 1시간 뒤 buttons that call it through signed links; the token itself never leaves this machine.
    # With the web inbox on, a tap on an ntfy notification opens the inquiry there ({public_url}/inquiries/ID).
    public_url: str | None = None
    # The web inbox on the same server (/, /inquiries/ID, /hours, /status); off leaves only the API.
    web: bool = True
    # Buyer names, phones and addresses are masked on pages reached from another device (through a proxy or
    # a token-guarded address); true shows them there too.
    show_buyer_data_remote: bool = False

    @model_validator(mode="after")
    def _token_beyond_loopback(self) -> AdminConfig:
        has_token = self.token is not None and bool(self.token.get_secret_value())
        if self.enabled and requires_token(self.host) and not has_token:
            raise Problem("admin_needs_token", at="host", host=self.host)
        if self.public_url is not None:
            try:
                https_or_loopback(self.public_url)
            except Problem as err:
                raise Problem("public_url_https", at="public_url", detail=err) from None
            if not has_token:
                raise Problem("public_url_token", at="public_url")
        return self


class ControlsConfig(BaseModel):
    """`[controls]`: the seller's own controls (promised call-backs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # How long before a promised call-back time (`inqd promise ID 18:00`) the reminder comes.
    promise_reminder: Duration = timedelta(minutes=30)

    def build(self) -> ControlPolicy:
        """The pure ControlPolicy."""
        return ControlPolicy(promise_reminder=self.promise_reminder)


class HealthConfig(BaseModel):
    """`[health]`: when a failing connection becomes a "연결 끊김" message and an unhealthy /healthz."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A stream failing this long (and at least three poll intervals) is announced as lost.
    lost_after: Duration = timedelta(minutes=15)

    @model_validator(mode="after")
    def _sane(self) -> HealthConfig:
        if not timedelta(minutes=1) <= self.lost_after <= timedelta(hours=24):
            raise Problem("lost_after_range", at="lost_after")
        return self
