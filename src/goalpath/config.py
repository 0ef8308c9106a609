"""Every setting Goalpath reads, with its environment variable and default.

Settings come from the environment (or a `.env` file in the working directory).
Most variables carry the `GOALPATH_` prefix; `DATABASE_URL` and `REDIS_URL` are also
read without it because hosting platforms set them under those names.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path("var") / "goalpath.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GOALPATH_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = Field(
        default=f"sqlite:///./{DEFAULT_SQLITE_PATH.as_posix()}",
        validation_alias=AliasChoices("DATABASE_URL", "GOALPATH_DATABASE_URL"),
        description="SQLAlchemy URL: sqlite:///path, postgresql://..., mysql://... or mariadb://...",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "GOALPATH_REDIS_URL"),
        description="Shared store for rate-limit counters when several app servers run.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The address users reach Goalpath at; links in email are built from it, "
        "never from a request's Host header.",
    )
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    # Requests run on this many worker threads at once, each holding at most one
    # database connection, so the pool is as large (SPEC section 16).
    worker_threads: int = Field(default=40, ge=1, le=1000)
    # How many requests of one client run at once (kit/fairness.py): a signed-in
    # client is its session, anyone else their address.
    concurrent_per_session: int = Field(default=4, ge=1)
    concurrent_per_anonymous_address: int = Field(default=4, ge=1)
    db_pool_size: int = Field(default=40, ge=1)
    db_pool_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    db_echo: bool = False
    log_level: str = "INFO"

    # Password policy: NIST SP 800-63B-4 section 3.1.1.2, OWASP ASVS 5.0 V6.2.
    password_min_length: int = Field(default=15, ge=8)
    password_max_length: int = Field(default=128, ge=64)
    password_history_count: int = Field(default=5, ge=0)
    # zxcvbn's estimate below which a password is refused as too easy to guess (SPEC 12).
    password_min_guesses: float = Field(default=1e10, ge=1)
    # argon2id cost: OWASP's minimum is m=19 MiB, t=2, p=1.
    argon2_time_cost: int = Field(default=2, ge=2)
    argon2_memory_kib: int = Field(default=19456, ge=19456)
    argon2_parallelism: int = Field(default=1, ge=1)

    # Fernet keys for health-note contents, comma-separated, newest first. When unset,
    # a key is generated once into `key_file` (fine for one machine; production sets it).
    health_note_keys: str | None = Field(default=None, repr=False)
    key_file: Path = Path("var") / "health-note.keys"

    # Signing key for CSRF tokens. When unset, generated once into `secret_key_file`.
    secret_key: str | None = Field(default=None, repr=False)
    secret_key_file: Path = Path("var") / "secret.key"

    # Sessions (SPEC section 4; OWASP ASVS 5.0 V7.3).
    session_idle_minutes: int = Field(default=30, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    session_cookie_name: str = "goalpath_session"
    # None: Secure cookies unless the public base URL is plain-http localhost.
    cookie_secure: bool | None = None

    # Lockout (SPEC section 4).
    lockout_threshold: int = Field(default=5, ge=1)
    lockout_minutes: int = Field(default=15, ge=1)
    # Password expiry in days; off by default (NIST SP 800-63B-4 forbids forced rotation).
    password_max_age_days: int | None = Field(default=None, ge=1)
    reset_token_minutes: int = Field(default=30, ge=1)

    # Rate limits, in the `limits` library's notation ("N/minute", "N/hour").
    rate_limit_login_ip: str = "30/minute"
    rate_limit_login_account: str = "10/minute"
    rate_limit_reset_ip: str = "10/minute"
    rate_limit_reset_account: str = "5/hour"
    # Peers whose X-Forwarded-For is believed: comma-separated addresses or CIDR ranges.
    trusted_proxies: str = ""
    # At most this many password hashes are computed at once (default: the core count),
    # so a burst of sign-ins cannot starve other requests.
    hash_concurrency: int | None = Field(default=None, ge=1)

    # Request bodies and slow clients (SPEC section 16). A body over `max_body_bytes` is
    # refused (413) before it is read; one not delivered within `body_timeout_seconds`
    # of the app starting to read it is answered 408. Beyond `server_max_connections`
    # open connections (per process) the server answers 503 rather than queueing.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    body_timeout_seconds: float = Field(default=15.0, gt=0)
    server_max_connections: int = Field(default=200, ge=1)
    # The roster upload page (docs/rosters.md) takes a OneRoster zip: its body may be up
    # to `roster_upload_max_bytes` and take `roster_upload_timeout_seconds` to arrive.
    roster_upload_max_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    roster_upload_timeout_seconds: float = Field(default=600.0, gt=0)

    # Email. With no SMTP host, each message is written to `outbox_dir` as a .eml file.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "Goalpath <no-reply@localhost>"
    outbox_dir: Path = Path("var") / "outbox"

    # Reporting periods as JSON: {"Q1": ["08-01", "10-15"], ...}, month-day ranges of
    # the school year that starts in a report's `year` (a range may run into the next
    # calendar year). Unset: Q1-Q4, S1-S2, T1-T3 of a school year from 1 August.
    report_periods: str | None = None

    # District sign-in with OpenID Connect (SPEC section 12). An issuer must be https;
    # this lets a loopback http issuer through, for a provider run by the tests.
    oidc_allow_insecure_loopback: bool = False
    # How long a call to a provider (discovery, keys, token) may take.
    oidc_timeout_seconds: float = Field(default=10.0, gt=0)
    # Between leaving for the provider and coming back, at most this long.
    oidc_flow_minutes: int = Field(default=10, ge=1)

    # Demo district: the shared sign-in password printed by `make run`.
    demo_password: str = "maple-lantern-orchard-42"

    def health_note_key_list(self) -> list[str]:
        if self.health_note_keys:
            return [key.strip() for key in self.health_note_keys.split(",") if key.strip()]
        if not self.key_file.exists():
            from cryptography.fernet import Fernet

            self.key_file.parent.mkdir(parents=True, exist_ok=True)
            self.key_file.write_text(Fernet.generate_key().decode("ascii") + "\n")
            self.key_file.chmod(0o600)
        return [line.strip() for line in self.key_file.read_text().splitlines() if line.strip()]

    def signing_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        if not self.secret_key_file.exists():
            import secrets

            self.secret_key_file.parent.mkdir(parents=True, exist_ok=True)
            self.secret_key_file.write_text(secrets.token_urlsafe(48) + "\n")
            self.secret_key_file.chmod(0o600)
        return self.secret_key_file.read_text().strip()

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.public_base_url.startswith("https://")

    @field_validator("report_periods")
    @classmethod
    def _periods_parse(cls, value: str | None) -> str | None:
        # A bad setting stops the app at start-up rather than failing a request later.
        from goalpath.progress_reports.periods import PeriodSettingInvalid, parse_periods

        try:
            parse_periods(value)
        except PeriodSettingInvalid as error:
            raise ValueError(str(error)) from error
        return value

    @field_validator("public_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
