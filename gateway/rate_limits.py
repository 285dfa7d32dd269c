"""Per-consumer rate limits: token buckets on operations and on their estimated cost.

A consumer is the request's principal (`sub`), or, without one, the client's address.
Each has two buckets, refilled continuously: one spent one token per operation, one
spent the operation's estimated cost (schema.cost). The rates are the consumer's role's
(the most generous of its roles with rates of their own), or the defaults.

The buckets live in Redis when the event bus does (`bus_url` redis://...), so every
replica spends from the same ones: one Lua script reads, refills and spends a bucket
atomically, on Redis's clock. Otherwise they live in the process.

An operation over either rate is refused before it runs: HTTP 429 with `Retry-After`,
`extensions.code` RATE_LIMITED and `extensions.retryAfter` (seconds).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from cachetools import TTLCache
from graphql import GraphQLError
from redis.asyncio import Redis

RATE_LIMITED = "RATE_LIMITED"


@dataclass(frozen=True)
class Rate:
    per_s: float  # tokens refilled per second
    burst: float  # the bucket's size: what may be spent at once


@dataclass(frozen=True)
class Rates:
    operations: Rate = Rate(per_s=10.0, burst=30.0)
    cost: Rate = Rate(per_s=5_000.0, burst=50_000.0)


@dataclass(frozen=True)
class RatePolicy:
    default: Rates = field(default_factory=Rates)
    by_role: Mapping[str, Rates] = field(default_factory=dict)

    def rates_for(self, roles: frozenset[str]) -> Rates:
        own = [self.by_role[r] for r in sorted(roles) if r in self.by_role]
        return max(own, key=lambda rates: rates.operations.per_s) if own else self.default


class Buckets(Protocol):
    async def take(self, key: str, rate: Rate, amount: float) -> float:
        """Spend `amount` from the bucket `key`: 0 when spent, else the seconds until it
        could be (nothing is spent then)."""


class MemoryBuckets:
    """Buckets of this process; idle ones are forgotten once they would be full again."""

    def __init__(self, maxsize: int = 100_000) -> None:
        self._buckets: TTLCache[str, tuple[float, float]] = TTLCache(maxsize, ttl=3600)

    async def take(self, key: str, rate: Rate, amount: float) -> float:
        now = time.monotonic()
        tokens, at = self._buckets.get(key, (rate.burst, now))
        tokens = min(rate.burst, tokens + (now - at) * rate.per_s)
        if tokens >= amount:
            self._buckets[key] = (tokens - amount, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (amount - tokens) / rate.per_s


# KEYS[1] bucket; ARGV rate per s, burst, amount. Returns the wait in seconds, as text
# (a Lua number would come back truncated to an integer).
_TAKE = """
local rate, burst, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= amount then tokens = tokens - amount else wait = (amount - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisBuckets:
    """Buckets every replica shares, under `prefix` on the Redis at `url`."""

    def __init__(self, url: str, prefix: str) -> None:
        self._redis = Redis.from_url(url)
        self._script = self._redis.register_script(_TAKE)
        self._prefix = prefix

    async def take(self, key: str, rate: Rate, amount: float) -> float:
        wait = await self._script(keys=[self._prefix + key], args=[rate.per_s, rate.burst, amount])
        return float(wait)

    async def aclose(self) -> None:
        await self._redis.aclose()


def buckets_for(bus_url: str, prefix: str) -> Buckets:
    if bus_url.startswith(("redis://", "rediss://")):
        return RedisBuckets(bus_url, prefix + "rate:")
    return MemoryBuckets()


class RateLimiter:
    def __init__(self, buckets: Buckets, policy: RatePolicy) -> None:
        self._buckets = buckets
        self._policy = policy

    async def admit(self, consumer: str, roles: frozenset[str], cost: int) -> GraphQLError | None:
        """None when the consumer may run an operation of `cost` now, else the error."""
        rates = self._policy.rates_for(roles)
        wait = await self._buckets.take(f"ops:{consumer}", rates.operations, 1)
        if not wait and cost > 0:
            wait = await self._buckets.take(
                f"cost:{consumer}", rates.cost, min(cost, rates.cost.burst)
            )
        if not wait:
            return None
        retry_after = max(1, math.ceil(wait))
        return GraphQLError(
            f"Too many requests from {consumer!r}: retry after {retry_after} s.",
            extensions={"code": RATE_LIMITED, "retryAfter": retry_after},
        )
