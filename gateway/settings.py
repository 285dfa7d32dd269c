"""The one settings object: a YAML file, then `PSGRAPH_*` environment overrides.

Credentials never come from the file for real vendors: each source names the
environment variables that hold them (`credentials_env`), read once here.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from sources.config import Credentials, SourceSettings
from sources.registry import BUILT_IN
from sources.registry import SYSTEMS as SYSTEMS  # in port order

SANDBOXES = (*SYSTEMS, "idp")  # the identity provider's sandbox serves beside the systems


class SourceConfig(SourceSettings):
    enabled: bool = True
    # credential field -> environment variable holding it
    credentials_env: dict[str, str] = Field(default_factory=dict)


def sandbox_ports(port_base: int) -> dict[str, int]:
    """Each sandbox's port: port_base + 101, + 102, ... in SANDBOXES order, so one number
    moves the whole demo (8000: the gateway on 8000, the sandboxes on 8101..8106)."""
    return {name: port_base + 101 + i for i, name in enumerate(SANDBOXES)}


class SandboxConfig(BaseModel):
    # Forbid unknown keys so a config still listing the old per-sandbox `ports` fails loudly.
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    seed: int = 42
    scale: float = 1.0
    port_base: int = Field(default=8000, ge=1, le=65535 - 101 - len(SANDBOXES))
    tokens: dict[str, str] = Field(default_factory=dict)  # sandbox secrets, not real ones

    @property
    def ports(self) -> dict[str, int]:
        return sandbox_ports(self.port_base)


def _default_poll() -> dict[str, dict[str, float]]:
    return {spec.key: dict(spec.default_poll_interval) for spec in BUILT_IN}


class ForwardTarget(BaseModel):
    """A downstream that receives every matching domain event as a signed webhook."""

    model_config = ConfigDict(frozen=True)

    name: str
    url: str
    secret_env: str  # environment variable holding its "whsec_..." secret
    types: list[str] = Field(default_factory=list)  # empty: every type


class AutomationConfig(BaseModel):
    """One automation: events of these types start this workflow, with an input made
    from the event. The workflow's business key derives from that input, so the event
    seen twice (two replicas, a replayed dead letter, a re-poll) starts it once."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=38)
    on: list[str]  # domain event types
    workflow: str  # the workflow kind it starts
    # The workflow input; strings are templates over the event: "{data[id]}" is the
    # native id of the record that changed, "{data[to]}" its new status.
    input: dict[str, Any]
    # Only events whose data has one of these values per field (empty: every event).
    when: dict[str, list[str]] = Field(default_factory=dict)
    # Events arriving together (one change scan's) start one workflow, up to this many:
    # inputs that differ only in their lists are joined (entry ids of many approvals).
    batch: int = Field(default=1, ge=1)
    enabled: bool = False

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        # YAML 1.1 reads an unquoted `on:` key as the boolean true.
        if isinstance(data, dict) and True in data:
            data = {("on" if k is True else k): v for k, v in data.items()}
        return data


def _default_automations() -> list[AutomationConfig]:
    """Every automation the gateway knows, off until a deployment turns it on."""
    return [
        AutomationConfig(
            name="opportunity-won-to-project",
            on=["OpportunityClosedWon"],
            workflow="quote_to_project",
            input={"opportunity_id": "{data[id]}", "start_date": None, "manager_id": None},
        ),
        AutomationConfig(
            name="time-approved-to-erp",
            on=["TimeApproved"],
            workflow="approve_time",
            input={"time_entry_ids": ["{data[id]}"]},
            batch=100,
        ),
        AutomationConfig(
            name="milestone-completed-to-erp",
            on=["MilestoneCompleted"],
            workflow="complete_milestone",
            input={"milestone_id": "{data[id]}"},
        ),
        AutomationConfig(
            name="project-status-to-erp",
            on=["ProjectStatusChanged"],
            workflow="sync_job_status",
            input={"project_id": "{data[id]}", "status": "{data[to]}"},
            when={"to": ["ACTIVE", "COMPLETED", "CANCELLED"]},
        ),
        AutomationConfig(
            name="invoice-to-receivables",
            on=["InvoicePosted", "InvoicePaid"],
            workflow="refresh_receivables",
            input={"invoice_id": "{data[id]}", "status": "{data[to]}"},
        ),
    ]


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
    # What the gateway does by itself when an event arrives; see docs/events.md.
    automations: list[AutomationConfig] = Field(default_factory=_default_automations)
    subscriber_buffer: int = 1000  # events queued per subscriber before it is ended
    delivery_attempts: int = 3  # tries of a trigger or a push before it is dead-lettered
    delivery_backoff_s: float = 0.5
    log_poll_s: float = 1.0  # how often the log is re-read in case a notification was lost
    forward: list[ForwardTarget] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _replaced_settings(cls, data: Any) -> Any:
        # Silently ignoring it would leave a deployment's won deals without projects.
        if isinstance(data, dict) and "auto_start_quote_to_project" in data:
            raise ValueError(
                "events.auto_start_quote_to_project was replaced by events.automations: "
                "list opportunity-won-to-project there with enabled: true"
            )
        return data


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
    max_fields: int = 2000
    max_nodes: int = 5000
    max_tokens: int = 10_000
    max_document_bytes: int = 100_000
    max_nesting: int = 64
    max_string_length: int = 4096
    document_cache_bytes: int = 256 * 1024


class DemandConfig(BaseModel):
    """Demand control (schema.cost): the estimated cost an operation may have."""

    model_config = ConfigDict(frozen=True)

    max_cost: int = Field(default=50_000, gt=0)  # for callers with no role limit below
    max_cost_by_role: dict[str, int] = Field(default_factory=dict)  # role -> limit
    list_size: int = Field(default=10, gt=0)  # items assumed for a list that is not paged
    # type -> weight of reading one (1 when absent); None keeps the built-in weights
    type_weights: dict[str, float] | None = None


class TrustedDocumentsConfig(BaseModel):
    """Persisted operations (schema.trusted): a manifest built by `psgraph documents
    build`, and the roles that may run nothing else."""

    model_config = ConfigDict(frozen=True)

    manifest: Path | None = None  # JSON {"sha256:<hex>": "<document>"}
    only_trusted_roles: list[str] = Field(default_factory=list)


class RateConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    per_s: float = Field(gt=0)  # tokens refilled per second
    burst: float = Field(gt=0)  # the bucket's size


class RolesRatesConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    operations: RateConfig = Field(default_factory=lambda: RateConfig(per_s=10, burst=30))
    cost: RateConfig = Field(default_factory=lambda: RateConfig(per_s=5000, burst=50_000))


class RateLimitsConfig(BaseModel):
    """Per-consumer token buckets (gateway.rate_limits), shared through Redis when the
    bus is Redis. Off unless enabled."""

    model_config = ConfigDict(frozen=True)

    enabled: bool = False
    default: RolesRatesConfig = Field(default_factory=RolesRatesConfig)
    by_role: dict[str, RolesRatesConfig] = Field(default_factory=dict)


class EdgeConfig(BaseModel):
    """Bounds on request bodies, enforced before they are parsed or their signatures
    checked (gateway.edge)."""

    model_config = ConfigDict(frozen=True)

    graphql_body_bytes: int = Field(default=1_048_576, gt=0)
    webhook_body_bytes: int = Field(default=262_144, gt=0)
    max_json_depth: int = Field(default=32, gt=0)  # GraphQL variables and webhook payloads


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


class WorkflowRetryConfig(BaseModel):
    """How a workflow's steps retry transient source failures (5xx, timeouts, 429s, an
    open circuit): capped exponential backoff with jitter until the deadline. Business
    errors are never retried."""

    model_config = ConfigDict(frozen=True)

    deadline_s: float = Field(default=4 * 3600.0, gt=0)  # from the workflow's start
    initial_delay_s: float = Field(default=0.5, gt=0)
    multiplier: float = Field(default=2.0, ge=1)
    max_delay_s: float = Field(default=300.0, gt=0)  # a Retry-After may ask for longer
    jitter: float = Field(default=0.2, ge=0, le=1)  # ± this fraction of each wait


class WorkflowsConfig(BaseModel):
    """The workflow engine: `retry` for every kind, `kinds` to set one kind apart."""

    model_config = ConfigDict(frozen=True)

    retry: WorkflowRetryConfig = Field(default_factory=WorkflowRetryConfig)
    kinds: dict[str, WorkflowRetryConfig] = Field(default_factory=dict)  # kind -> its retry
    concurrency: int = Field(default=8, ge=1)  # workflows one gateway drives at once
    # Retry waits up to this long happen in place; longer ones hand the workflow back with
    # a due time, freeing the worker and its lease for other workflows meanwhile.
    max_inline_delay_s: float = Field(default=2.0, ge=0)

    def retry_for(self, kind: str) -> WorkflowRetryConfig:
        return self.kinds.get(kind, self.retry)


class ObservabilityConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    # `GET /metrics` (Prometheus text). Scrapers usually hold no user token, so it is open
    # unless `metrics_token_env` names an environment variable holding a bearer token the
    # scraper must send; it never goes through the GraphQL authentication path.
    metrics: bool = True
    metrics_token_env: str | None = None
    health_window_s: float = Field(default=300.0, gt=0)  # integrationHealth's rolling window
    tracing: TracingConfig = Field(default_factory=TracingConfig)


class AuthConfig(BaseModel):
    """Who may call the GraphQL endpoint: bearer JWTs from one OpenID issuer.

    Without an issuer every GraphQL request is refused: there is no anonymous path.
    `/healthz`, `/readyz` and `/metrics` (see `observability`) are not GraphQL."""

    model_config = ConfigDict(frozen=True)

    issuer: str | None = None  # discovery at {issuer}/.well-known/openid-configuration
    audience: str = "psgraph"
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    leeway_s: float = Field(default=30.0, ge=0)  # clock skew allowed on exp and nbf
    # An unknown key id refetches the JWKS at most this often (forged ids cost nothing).
    jwks_refresh_cooldown_s: float = Field(default=1.0, ge=0)
    fetch_timeout_s: float = Field(default=5.0, gt=0)
    graphiql: bool = False  # the in-browser IDE at GET /graphql (it shows no data itself)
    introspection: bool = False


class VisibilityConfig(BaseModel):
    """The business exceptions monitor (`gateway.visibility`) and the /visibility page."""

    model_config = ConfigDict(frozen=True)

    # Off unless asked for, like change capture: every scan reads every source in full.
    monitor: bool = False
    scan_interval_s: float = Field(default=60.0, gt=0)  # between full scans
    # A change seen in a source re-runs the detectors that read it, this long after the
    # first change of a burst (changes arriving together cost one re-check).
    recheck_debounce_s: float = Field(default=1.0, ge=0)
    # With several gateways on one store, one monitors: it holds the lease this long,
    # renewing it every third; a standby takes over once it is released or runs out.
    lease_s: float = Field(default=15.0, gt=0)
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
    edge: EdgeConfig = Field(default_factory=EdgeConfig)
    demand: DemandConfig = Field(default_factory=DemandConfig)
    trusted_documents: TrustedDocumentsConfig = Field(default_factory=TrustedDocumentsConfig)
    rate_limits: RateLimitsConfig = Field(default_factory=RateLimitsConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)
    workflows: WorkflowsConfig = Field(default_factory=WorkflowsConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    visibility: VisibilityConfig = Field(default_factory=VisibilityConfig)

    def at_sandboxes(self, port_base: int | None = None) -> Settings:
        """These settings for the demo: the gateway on the sandboxes' port base (or
        `port_base`), every configured source pointed at its sandbox."""
        box = self.sandbox
        if port_base is not None:
            box = box.model_copy(update={"port_base": port_base})
        sources = {
            name: config.model_copy(update={"base_url": f"http://{box.host}:{box.ports[name]}"})
            for name, config in self.sources.items()
            if name in box.ports
        }
        # The demo's issuer is its identity provider sandbox: it moves with the port base.
        auth = self.auth
        if auth.issuer == f"http://{self.sandbox.host}:{self.sandbox.ports['idp']}":
            auth = auth.model_copy(update={"issuer": f"http://{box.host}:{box.ports['idp']}"})
        return self.model_copy(
            update={
                "port": box.port_base,
                "sandbox": box,
                "sources": {**self.sources, **sources},
                "auth": auth,
            }
        )

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
