"""The one settings object: a YAML file, then `PSGRAPH_*` environment overrides.

Credentials never come from the file for real vendors: each source names the
environment variables that hold them (`credentials_env`), read once here.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from sources.config import Credentials, SourceSettings

SYSTEMS = ("crm", "psa", "hcm", "erp", "time")


class SourceConfig(SourceSettings):
    enabled: bool = True
    # credential field -> environment variable holding it
    credentials_env: dict[str, str] = Field(default_factory=dict)


class SandboxConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str = "127.0.0.1"
    seed: int = 42
    scale: float = 1.0
    ports: dict[str, int] = Field(
        default_factory=lambda: {s: 8101 + i for i, s in enumerate(SYSTEMS)}
    )
    tokens: dict[str, str] = Field(default_factory=dict)  # sandbox secrets, not real ones


def _default_poll() -> dict[str, dict[str, float]]:
    return {
        "crm": {"opportunity": 10.0},
        "psa": {"project": 5.0, "milestone": 5.0, "staffing_request": 10.0},
        "time": {"time_entry": 5.0},
        "erp": {"invoice": 10.0, "time_posting": 15.0},
        "hcm": {"worker": 300.0},
    }


class ForwardTarget(BaseModel):
    """A downstream that receives every matching domain event as a signed webhook."""

    model_config = ConfigDict(frozen=True)

    name: str
    url: str
    secret_env: str  # environment variable holding its "whsec_..." secret
    types: list[str] = Field(default_factory=list)  # empty: every type


class EventsConfig(BaseModel):
    """Change capture, the event log's consumers and live subscriptions."""

    model_config = ConfigDict(frozen=True)

    # Run the pollers (webhooks are received either way). Off unless asked for: a gateway
    # that polls adds its own traffic to every source it is pointed at.
    capture: bool = False
    # With several gateways one polls at a time: it holds the "capture" lease in the store
    # for this long, renewing every third of it; a standby takes over within a third of it
    # when the poller stops, or once the lease runs out when the poller dies.
    capture_lease_s: float = Field(default=15.0, gt=0)
    bus_prefix: str = "psgraph:"  # channel prefix on a shared Redis
    # system -> entity -> seconds between change scans; only configured sources are polled
    poll: dict[str, dict[str, float]] = Field(default_factory=_default_poll)
    # system -> entities whose statuses are learned, without events, on the first scan
    baseline: dict[str, list[str]] = Field(default_factory=lambda: {"psa": ["project"]})
    # system -> environment variable holding its webhook secrets (space-separated: rotation)
    webhook_secrets_env: dict[str, str] = Field(default_factory=dict)
    auto_start_quote_to_project: bool = False
    subscriber_buffer: int = 1000  # events queued per subscriber before it is ended
    delivery_attempts: int = 3  # tries of a trigger or a push before it is dead-lettered
    delivery_backoff_s: float = 0.5
    log_poll_s: float = 1.0  # how often the log is re-read in case a notification was lost
    forward: list[ForwardTarget] = Field(default_factory=list)


class CacheConfig(BaseModel):
    """The shared read cache; TTLs are per source and entity (`sources.*.cache_ttl`)."""

    model_config = ConfigDict(frozen=True)

    maxsize: int = 50_000  # entries, across all sources
    stale_if_error: float = 300.0  # seconds past its TTL an entry may stand in for a failing source
    share_in_flight: bool = True  # identical reads in flight at once share one upstream call


class QueryLimitsConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    default_page_size: int = 50  # `first` when a connection is asked without it
    max_page_size: int = 1000
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4000


class RetentionConfig(BaseModel):
    """How long the store keeps what only guards against repeats; pruned by every gateway
    (deleting what is already gone is harmless, so there is no leader to elect)."""

    model_config = ConfigDict(frozen=True)

    every_s: float = 3600.0  # between prunings; the first runs at start-up
    published_outbox_days: float = 7.0  # relayed already; kept for a look afterwards
    # A repeated submitTime key within this window still finds its entry.
    idempotency_keys_days: float = 30.0
    # Past the signature's timestamp tolerance a replay is refused anyway; a week covers
    # every vendor's own redelivery window.
    webhook_receipts_days: float = 7.0


class TracingConfig(BaseModel):
    """OpenTelemetry traces: one span per operation, upstream call and workflow step."""

    model_config = ConfigDict(frozen=True)

    # "none": no tracer provider is installed and no span is made (costs nothing);
    # "otlp": spans are batched to an OTLP/HTTP collector at `otlp_endpoint`.
    exporter: Literal["none", "otlp"] = "none"
    otlp_endpoint: str = "http://127.0.0.1:4318/v1/traces"
    service_name: str = "psgraph"
    sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)  # of new traces, parent-based


class ObservabilityConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    # `GET /metrics` (Prometheus text). Scrapers usually hold no user token, so it is open
    # unless `metrics_token_env` names an environment variable holding a bearer token the
    # scraper must send; it never goes through the GraphQL authentication path.
    metrics: bool = True
    metrics_token_env: str | None = None
    health_window_s: float = Field(default=300.0, gt=0)  # integrationHealth's rolling window
    tracing: TracingConfig = Field(default_factory=TracingConfig)


class VisibilityConfig(BaseModel):
    """The business exceptions monitor (`gateway.visibility`) and the /visibility page."""

    model_config = ConfigDict(frozen=True)

    # Off unless asked for, like change capture: every scan reads every source in full.
    monitor: bool = False
    scan_interval_s: float = Field(default=60.0, gt=0)  # between full scans
    # A change seen in a source re-runs the detectors that read it, this long after the
    # first change of a burst (changes arriving together cost one re-check).
    recheck_debounce_s: float = Field(default=1.0, ge=0)
    # Approved hours not in the ERP this long after approval are an exception (the agreed
    # delay for posting).
    unposted_after_s: float = Field(default=86_400.0, ge=0)
    # How far back approvals are checked for a posting; older ones are the backlog.
    unposted_lookback_days: int = Field(default=14, gt=0)
    page: bool = True  # serve /visibility
    # Pins the calendar that dated rules (a request past its start, a booking this week)
    # read, for a generated world dated in the past; None: today.
    today: dt.date | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PSGRAPH_", env_nested_delimiter="__", extra="forbid"
    )

    host: str = "127.0.0.1"
    port: int = 8000
    debug: bool = False
    store_url: str = "sqlite+aiosqlite:///var/psgraph.db"
    bus_url: str = "memory://"
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    # entity -> field -> owning system; entity -> owning system under "*"
    authority: dict[str, dict[str, str]] = Field(default_factory=dict)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    events: EventsConfig = Field(default_factory=EventsConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    query_limits: QueryLimitsConfig = Field(default_factory=QueryLimitsConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)
    visibility: VisibilityConfig = Field(default_factory=VisibilityConfig)

    def source(self, name: str) -> SourceSettings:
        """The source's settings with its credentials read from the environment."""
        config = self.sources[name]
        from_env = {
            field: os.environ[var]
            for field, var in config.credentials_env.items()
            if var in os.environ
        }
        if not from_env:
            return config
        merged = {**config.credentials.model_dump(exclude_none=True), **from_env}
        return config.model_copy(update={"credentials": Credentials(**merged)})

    def webhook_secrets(self, system: str) -> list[str]:
        """The secrets `system`'s pushes may be signed with (several while rotating)."""
        var = self.events.webhook_secrets_env.get(system)
        return os.environ.get(var, "").split() if var else []

    def forward_secret(self, target: ForwardTarget) -> str | None:
        return os.environ.get(target.secret_env) or None

    def metrics_token(self) -> str | None:
        """The bearer token `/metrics` asks for, or None when it is open."""
        var = self.observability.metrics_token_env
        return os.environ.get(var) or None if var else None


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Settings from a YAML file (if given), under PSGRAPH_* env vars, under `overrides`."""
    if path is not None and not Path(path).is_file():
        raise FileNotFoundError(f"no config file at {path}")

    class FromFile(Settings):
        model_config = SettingsConfigDict(**{**Settings.model_config, "yaml_file": path})

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls))

    return FromFile(**overrides)
