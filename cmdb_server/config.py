"""Server settings, read from the environment (prefix ``CMDB_``); see deploy/.env.example."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
        description="An admin token accepted from first start, so the first real tokens can be created.",
    )
    host: str = Field("127.0.0.1", description="Address the API listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the API listens on.")
    workers: int = Field(1, ge=1, le=64, description="Server processes; ingest is CPU-bound, so about one per core.")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    schema_retry_seconds: float = Field(
        5.0, gt=0, description="While Neo4j is unreachable at start-up, retry applying the schema this often."
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
    stale_after_hours: float = Field(72.0, gt=0, description="A CI no source has reported for this long becomes stale.")
    stale_check_interval_seconds: float = Field(
        3600.0, ge=0, description="How often the server marks stale CIs; 0 turns the periodic job off."
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

    def neo4j_auth(self) -> tuple[str, str] | None:
        if self.neo4j_password is None:
            return None
        return (self.neo4j_user, self.neo4j_password.get_secret_value())
