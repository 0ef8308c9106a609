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
    db_pool_size: int = Field(default=10, ge=1)
    db_echo: bool = False
    log_level: str = "INFO"

    # Password policy: NIST SP 800-63B-4 section 3.1.1.2, OWASP ASVS 5.0 V6.2.
    password_min_length: int = Field(default=15, ge=8)
    password_max_length: int = Field(default=128, ge=64)
    password_history_count: int = Field(default=5, ge=0)
    # argon2id cost: OWASP's minimum is m=19 MiB, t=2, p=1.
    argon2_time_cost: int = Field(default=2, ge=2)
    argon2_memory_kib: int = Field(default=19456, ge=19456)
    argon2_parallelism: int = Field(default=1, ge=1)

    # Fernet keys for health-note contents, comma-separated, newest first. When unset,
    # a key is generated once into `key_file` (fine for one machine; production sets it).
    health_note_keys: str | None = Field(default=None, repr=False)
    key_file: Path = Path("var") / "health-note.keys"

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

    @field_validator("public_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
