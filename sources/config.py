"""Per-source settings, as value objects (like httpx's Timeout/Limits)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class Timeouts(BaseModel):
    model_config = ConfigDict(frozen=True)

    connect: float = 2.0
    read: float = 5.0
    total: float = 10.0  # one call, retries included


class RetryPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    attempts: int = 3  # including the first
    backoff_initial: float = 0.05
    backoff_max: float = 2.0
    jitter: float = 0.05
    max_retry_after: float = 30.0  # never sleep longer than this on a Retry-After


class BreakerPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    failure_threshold: int = 5  # consecutive failures that open the breaker
    reset_after: float = 5.0  # seconds open before one half-open probe


class Credentials(BaseModel):
    """Filled from the environment, never from the config file."""

    model_config = ConfigDict(frozen=True)

    client_id: str | None = None
    client_secret: SecretStr | None = None
    token: SecretStr | None = None
    account_id: str | None = None  # Harvest-Account-Id, NetSuite account, Workday tenant


class SourceSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    base_url: str
    # The connector package of a system psgraph does not ship (its `SYSTEM` spec); None
    # for the built-in ones, found by name.
    package: str | None = None
    credentials: Credentials = Field(default_factory=Credentials)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = Field(default_factory=BreakerPolicy)
    concurrency: int = 8  # requests in flight at once
    rate_limit_per_s: float | None = None  # client-side pacing
    batch_size: int | None = None  # None: the vendor's own limit
    cache_ttl: dict[str, float] = Field(default_factory=dict)  # entity -> seconds
    user_agent: str = "psgraph (ops@example.com)"
