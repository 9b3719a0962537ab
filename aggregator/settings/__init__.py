"""Configuration: one TOML file plus secrets from env vars or a secrets directory (pydantic-settings).

Strict by design: unknown keys are errors, and every error names its key path, e.g.
`accounts[0].vendor_id: field required`. Secrets are `SecretStr` and never required in the TOML:

- env var   `INQD_<ACCOUNT ID>__<FIELD>`     e.g. INQD_MYSHOP_COUPANG__SECRET_KEY
- file      `<secrets_dir>/<account id>.<field>`   e.g. /run/credentials/inqd.service/myshop-coupang.secret_key

The parts: `accounts` (the marketplace accounts), `notify` (the channels), `policy` (calendar, hours, SLA),
`service` (admin, controls, health), `secrets` (where secrets come from), `root` (Settings) and `loading`
(load_settings and its one-line errors). The public names are re-exported here.
"""

from aggregator.settings.accounts import (
    Account,
    AccountConfig,
    CoupangAccount,
    ElevenstAccount,
    EsmAccount,
    NaverAccount,
    OwnerId,
    is_loopback_url,
)
from aggregator.settings.loading import ConfigError, load_settings
from aggregator.settings.notify import NotifierConfig, SinkNotifierConfig
from aggregator.settings.root import Settings
from aggregator.settings.secrets import secret_env_name, secrets_written_in

__all__ = [
    "Account",
    "AccountConfig",
    "ConfigError",
    "CoupangAccount",
    "ElevenstAccount",
    "EsmAccount",
    "NaverAccount",
    "NotifierConfig",
    "OwnerId",
    "Settings",
    "SinkNotifierConfig",
    "is_loopback_url",
    "load_settings",
    "secret_env_name",
    "secrets_written_in",
]
