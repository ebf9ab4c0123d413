"""Server settings, read from the environment (prefix ``CMDB_``); see deploy/.env.example."""

from __future__ import annotations

import ipaddress
import math
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cmdb_server.security import SecretBox, check_secret_keys

BOOTSTRAP_TOKEN_MIN_LENGTH = 32
BOOTSTRAP_TOKEN_MIN_DISTINCT = 12
BOOTSTRAP_TOKEN_MIN_BITS = 128


def weak_token_problem(token: str) -> str | None:
    """Why a chosen admin token is too easy to guess, or None. The estimate is rough on
    purpose (length x log2 of the character classes used), and the distinct-character
    floor refuses long repetitions such as 'aaaa...'."""
    if len(token) < BOOTSTRAP_TOKEN_MIN_LENGTH:
        return f"{len(token)} characters; use at least {BOOTSTRAP_TOKEN_MIN_LENGTH}"
    distinct = len(set(token))
    if distinct < BOOTSTRAP_TOKEN_MIN_DISTINCT:
        return f"only {distinct} different characters; use at least {BOOTSTRAP_TOKEN_MIN_DISTINCT}"
    alphabet = sum(
        size
        for size, present in (
            (26, any(c.islower() for c in token)),
            (26, any(c.isupper() for c in token)),
            (10, any(c.isdigit() for c in token)),
            (32, any(not c.isalnum() for c in token)),
        )
        if present
    )
    bits = len(token) * math.log2(max(alphabet, 2))
    if bits < BOOTSTRAP_TOKEN_MIN_BITS:
        return f"about {bits:.0f} bits; use at least {BOOTSTRAP_TOKEN_MIN_BITS} (mix cases and digits, or lengthen it)"
    return None


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CMDB_", extra="ignore")

    neo4j_uri: str = Field(
        "bolt://127.0.0.1:7687", description="Bolt URI of Neo4j; neo4j:// routes reads across a cluster."
    )
    neo4j_user: str = Field("neo4j", description="Neo4j user; ignored when no password is set.")
    neo4j_password: SecretStr | None = Field(
        None, description="Neo4j password; leave unset for a server with authentication off."
    )
    neo4j_database: str = Field("neo4j", description="Database name inside Neo4j.")
    neo4j_connection_timeout: float = Field(5.0, gt=0, description="Seconds to wait for a Bolt connection.")
    neo4j_probe_seconds: float = Field(
        1.0,
        gt=0,
        description="How often the server asks Neo4j whether it is there; while it is away, "
        "API requests are answered 503 with Retry-After at once.",
    )

    bootstrap_admin_token: SecretStr | None = Field(
        None,
        description="An admin token accepted from first start, so the first real tokens can be created "
        f"(at least {BOOTSTRAP_TOKEN_MIN_LENGTH} characters, {BOOTSTRAP_TOKEN_MIN_DISTINCT} of them different; "
        "once revoked it stays revoked).",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Fernet key(s), comma-separated, the first encrypting: webhook signing secrets are stored "
        "encrypted with it. Make one with: python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())'",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="A bearer token GET /metrics asks of every scrape; unset, /metrics answers loopback clients only.",
    )
    ssl_certfile: str | None = Field(None, description="Serve HTTPS with this PEM certificate (chain).")
    ssl_keyfile: str | None = Field(None, description="The private key of ssl_certfile (PEM).")
    host: str = Field("127.0.0.1", description="Address the API listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the API listens on.")
    workers: int = Field(1, ge=1, le=64, description="Server processes; ingest is CPU-bound, so about one per core.")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    schema_retry_seconds: float = Field(
        5.0, gt=0, description="While Neo4j is unreachable at start-up, retry applying the schema this often."
    )

    query_timeout_seconds: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="Longest a read of the API may run in Neo4j; it is then stopped and the request answers "
        "503 (422 for a search, which can be narrowed).",
    )
    max_report_bytes: int = Field(
        64 * 1024 * 1024,
        gt=0,
        description="Largest report accepted, in bytes after decompression (413 above).",
    )
    token_cache_seconds: float = Field(
        5.0,
        ge=0,
        description="How long a verified token is trusted without asking the database again "
        "(a revocation takes effect within this time; 0 checks every request).",
    )
    max_body_bytes: int = Field(
        1024 * 1024,
        gt=0,
        le=64 * 1024 * 1024,
        description="Largest request body of any API call but reports and imports (which have max_report_bytes): "
        "413 above.",
    )
    max_clock_skew_seconds: float = Field(
        300.0,
        ge=0,
        le=86400,
        description="How far ahead of the server's clock a report's collected_at may be (422 beyond): a report "
        "dated later would make every later report of its source look out of order.",
    )
    stale_after_hours: float = Field(72.0, gt=0, description="A CI no source has reported for this long becomes stale.")
    stale_check_interval_seconds: float = Field(
        3600.0, ge=0, description="How often the server marks stale CIs; 0 turns the periodic job off."
    )
    accuracy_interval_seconds: float = Field(
        3600.0,
        ge=0,
        description="How often today's record-accuracy point is counted again (and soon after start-up when today "
        "has none); 0 turns the job off.",
    )
    webhook_poll_seconds: float = Field(
        1.0, ge=0, description="How often webhook events are queued and sent; 0 turns webhook delivery off."
    )
    webhook_retry_base_seconds: float = Field(
        10.0, gt=0, description="Wait before the first retry of a failed delivery; doubled at each further one."
    )
    webhook_retry_max_seconds: float = Field(3600.0, gt=0, description="Longest wait between two attempts.")
    webhook_max_attempts: int = Field(10, ge=1, le=100, description="Attempts before a delivery is given up.")
    webhook_timeout_seconds: float = Field(10.0, gt=0, description="How long a receiver may take to answer.")
    webhook_allowed_networks: str = Field(
        "",
        description="Comma-separated networks (CIDR) webhooks may be sent to although they are private, "
        "loopback or link-local, e.g. 10.20.0.0/16; empty: only public addresses.",
    )

    inventory_realm: str = Field(
        "graph-cmdb",
        min_length=1,
        max_length=100,
        pattern=r'^[^"\\\x00-\x1f\x7f]+$',
        description="The realm of the Basic challenge of POST /ocsinventory: OCS agents answer it only when it "
        "equals their --realm (FusionInventory agents take any).",
    )
    inventory_prolog_freq_hours: int = Field(
        24,
        ge=1,
        le=8760,
        description="Hours an inventory agent (FusionInventory, OCS) waits before it asks again (PROLOG_FREQ).",
    )
    report_time_zone: str = Field(
        "UTC",
        description="IANA time zone the service report counts its months in (2026-11 in Europe/Paris starts at "
        "2026-10-31T23:00Z) and shows its times in.",
    )

    auth_failure_limit: int = Field(
        20, ge=1, description="Failed token checks a client address may make within the window before it is slowed."
    )
    auth_failure_window_seconds: float = Field(
        60.0, gt=0, description="The window in which a client's failed token checks are counted."
    )
    auth_failure_delay_seconds: float = Field(
        1.0,
        ge=0,
        le=30,
        description="Past the limit, each further failure is answered 429 (with Retry-After) after this delay.",
    )

    @field_validator("bootstrap_admin_token")
    @classmethod
    def _strong_bootstrap_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            problem = weak_token_problem(value.get_secret_value())
            if problem:
                raise ValueError(f"CMDB_BOOTSTRAP_ADMIN_TOKEN is too weak: {problem}")
        return value if value is not None and value.get_secret_value() else None

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in _split(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not a network such as 10.20.0.0/16") from None
        return value

    @field_validator("report_time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as UTC or Europe/Paris") from None
        return value

    @field_validator("secret_key")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_secret_keys(value.get_secret_value())
        return value

    @field_validator("ssl_certfile", "ssl_keyfile", "secret_key", "metrics_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    def secret_box(self) -> SecretBox | None:
        """What seals webhook secrets, or None when no CMDB_SECRET_KEY is set."""
        return SecretBox(self.secret_key.get_secret_value()) if self.secret_key is not None else None

    def allowed_webhook_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(item, strict=False) for item in _split(self.webhook_allowed_networks)]

    def neo4j_auth(self) -> tuple[str, str] | None:
        if self.neo4j_password is None:
            return None
        return (self.neo4j_user, self.neo4j_password.get_secret_value())
