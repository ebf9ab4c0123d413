"""Agent settings: a TOML file, overridden by CMDB_AGENT_* environment variables.

See deploy/agent/agent.toml.example for every setting with its meaning.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the HTTP client is imported only by the commands that send
    from agent.transport import TransportSettings

DEFAULT_CONFIG_PATH = "/etc/cmdb-agent/agent.toml"


class ConfigError(ValueError):
    pass


@dataclass
class AgentConfig:
    server_url: str = "http://127.0.0.1:8000"
    token: str | None = None
    token_file: str | None = None
    interval_seconds: float = 3600.0
    jitter_seconds: float = 300.0
    spool_dir: str = "/var/spool/cmdb-agent"
    spool_max_reports: int = 50
    timeout_seconds: float = 30.0
    retries: int = 3
    backoff_seconds: float = 1.0
    set_aside_after_failures: int = 3
    network_domain: str = "global"
    ca_file: str | None = None

    def transport_settings(self) -> TransportSettings:
        from agent.transport import TransportConfigError, TransportSettings, tls_context

        if self.ca_file:
            try:
                tls_context(self.ca_file)
            except TransportConfigError as exc:
                raise ConfigError(str(exc)) from None

        return TransportSettings(
            server_url=self.server_url,
            token=self.resolved_token(),
            timeout_seconds=self.timeout_seconds,
            retries=self.retries,
            backoff_seconds=self.backoff_seconds,
            set_aside_after_failures=self.set_aside_after_failures,
            ca_file=self.ca_file or None,
        )

    def resolved_token(self) -> str:
        if self.token:
            return self.token
        if self.token_file:
            try:
                token = Path(self.token_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"cannot read token_file {self.token_file}: {exc.strerror}") from None
            if token:
                return token
        raise ConfigError("no token: set token_file (or token) in the config, or CMDB_AGENT_TOKEN")


def load_config(path: str | None = None, environ: dict[str, str] | None = None) -> AgentConfig:
    """Read the config file (if any) then the environment; unknown keys are an error."""
    env = os.environ if environ is None else environ
    path = path or env.get("CMDB_AGENT_CONFIG")
    values: dict[str, Any] = {}
    if path is not None or Path(DEFAULT_CONFIG_PATH).exists():
        file = Path(path or DEFAULT_CONFIG_PATH)
        try:
            values = tomllib.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read {file}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: {exc}") from None
    known = {f.name: f for f in fields(AgentConfig)}
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(known)}")
    for name in known:
        env_value = env.get(f"CMDB_AGENT_{name.upper()}")
        if env_value is not None:
            values[name] = env_value
    config = AgentConfig()
    for name, value in values.items():
        default = getattr(config, name)
        try:
            if isinstance(default, bool):
                raise AssertionError("no boolean settings")  # pragma: no cover
            if isinstance(default, int):
                value = int(value)
            elif isinstance(default, float):
                value = float(value)
            elif value is not None and not isinstance(value, str):
                raise ValueError(f"expected a string, got {type(value).__name__}")
        except ValueError as exc:
            raise ConfigError(f"setting {name}: {exc}") from None
        setattr(config, name, value)
    if config.spool_max_reports < 1:
        raise ConfigError("setting spool_max_reports: must be at least 1")
    if config.set_aside_after_failures < 0:
        raise ConfigError("setting set_aside_after_failures: must be 0 (never) or more")
    return config
