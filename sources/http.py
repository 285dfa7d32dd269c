"""One pooled HTTP client per source, wrapped in the resilience every call needs.

Every upstream call goes through `SourceClient.request`, which applies, in order:
circuit breaker -> client-side rate limit -> concurrency limit -> timeout -> retries
(with exponential backoff and jitter, honouring Retry-After; reads and idempotent writes
only). httpx exceptions and vendor error statuses become `sources.errors` here, once.

A client with an `observer` (`sources.observe.CallObserver`, set by the gateway) reports
each call, attempt, retry and rate-limit wait to it, and sends the trace context it adds.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson

from sources.aiohttp_transport import AiohttpTransport
from sources.config import SourceSettings
from sources.errors import (
    RateLimited,
    SourceDataError,
    SourceError,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
)
from sources.http_errors import HTTPX_ERRORS, source_error
from sources.observe import CANCELLED, CallObserver, ObservedCall, route_template
from sources.records import SourceSystem
from sources.resilience import CircuitBreaker, RateLimiter
from sources.sender import Sender

Classifier = Callable[[SourceSystem, httpx.Response], SourceError | None]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def classify_status(system: SourceSystem, response: httpx.Response) -> SourceError | None:
    """The status-code -> action table shared by all vendors; connectors add their quirks."""
    status = response.status_code
    if status < 400:
        return None
    message = response.text[:500] or response.reason_phrase
    if status == 429:
        return RateLimited(system, message, retry_after_seconds(response))
    if status in (408, 504):
        return SourceTimeout(system, message)
    if status >= 500:
        return SourceUnavailable(system, f"HTTP {status}: {message}")
    return SourceRejected(system, message, status=status)


class SourceClient:
    observer: CallObserver | None = None  # set by whoever watches the calls; none costs nothing

    def __init__(
        self,
        system: SourceSystem,
        settings: SourceSettings,
        *,
        auth: httpx.Auth | None = None,
        classify: Classifier = classify_status,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.system = system
        self.settings = settings
        self._classify = classify
        timeouts = settings.timeouts
        limits = httpx.Limits(
            max_connections=settings.concurrency,
            max_keepalive_connections=settings.concurrency,
        )
        self._http = Sender(
            settings.base_url,
            transport or AiohttpTransport(limits),
            auth=auth,
            timeout=httpx.Timeout(timeouts.read, connect=timeouts.connect),
            headers={"User-Agent": settings.user_agent, **(headers or {})},
        )
        self._slots = asyncio.Semaphore(settings.concurrency)
        self.breaker = CircuitBreaker(settings.breaker)
        self._pacer = RateLimiter(settings.rate_limit_per_s) if settings.rate_limit_per_s else None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send one logical request; raise a `SourceError` on anything but success."""
        may_retry = method.upper() in IDEMPOTENT_METHODS if idempotent is None else idempotent
        attempts = self.settings.retry.attempts
        deadline = time.monotonic() + self.settings.timeouts.total
        call = None
        if self.observer is not None:
            call = self.observer.begin(self.system, method.upper(), route_template(url))
            headers = dict(headers or {})
            call.propagate(headers)
        for attempt in range(1, attempts + 1):
            try:
                response = await self._send_once(method, url, params, json, data, headers, call)
            except SourceError as error:
                # A write may be sent again only when the source refused it unread (429):
                # any other failure may have come after the source acted on it.
                again = error.retriable and (may_retry or isinstance(error, RateLimited))
                last = not again or attempt == attempts
                delay = 0.0 if last else self._backoff(attempt, error)
                if last or time.monotonic() + delay >= deadline:
                    if call is not None:
                        call.finished(error.code)
                    raise
                if call is not None:
                    call.retrying(error.code, delay)
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                if call is not None:
                    call.finished(CANCELLED)  # the caller gave up: not the source's failure
                raise
            else:
                if call is not None:
                    call.finished(None)
                return response
        raise AssertionError("unreachable")  # the loop returns or raises

    async def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = await self.request(method, url, **kwargs)
        return self.parse_json(response)

    def parse_json(
        self, response: httpx.Response, decode: Callable[[bytes], Any] = orjson.loads
    ) -> Any:
        """The body, parsed by `decode` (orjson: the vendors' bodies are the larger half
        of what a query parses); a ValueError from it is the source's malformed answer."""
        if response.status_code == 204 or not response.content:
            return None
        try:
            return decode(response.content)
        except ValueError as error:
            raise SourceDataError(
                self.system, f"malformed JSON from {response.url}: {error}"
            ) from error

    def _backoff(self, attempt: int, error: SourceError) -> float:
        policy = self.settings.retry
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return min(error.retry_after, policy.max_retry_after)
        base = min(policy.backoff_max, policy.backoff_initial * 2.0 ** (attempt - 1))
        return float(base + random.uniform(0, policy.jitter))

    async def _send_once(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        call: ObservedCall | None = None,
    ) -> httpx.Response:
        try:
            self.breaker.before_call(self.system)
        except SourceError as error:
            if call is not None:
                call.rejected(error.code)
            raise
        started = time.monotonic()
        try:
            if self._pacer is not None:
                waited = time.monotonic()
                await self._pacer.acquire()
                if call is not None:
                    call.paced(time.monotonic() - waited)
            async with self._slots:
                started = time.monotonic()  # the source's latency, not our queue's
                response = await self._http.request(
                    method, url, params=params, json=json, data=data, headers=headers
                )
        except asyncio.CancelledError:
            # A probe cancelled by its caller's deadline would otherwise hold the
            # half-open breaker taken, and the source would never be tried again.
            self.breaker.record_abandoned()
            raise
        except HTTPX_ERRORS as error:
            failed = source_error(self.system, error, url)
            if failed.retriable:
                self.breaker.record_failure()
            if call is not None:
                call.attempted(None, failed.code, time.monotonic() - started, None)
            raise failed from error
        failure = self._classify(self.system, response)
        if call is not None:
            elapsed = time.monotonic() - started
            call.attempted(
                response.status_code, failure.code if failure else None, elapsed, response.headers
            )
        if failure is None:
            self.breaker.record_success()
            return response
        if failure.retriable and not isinstance(failure, RateLimited):
            self.breaker.record_failure()
        else:
            self.breaker.record_success()  # the source answered; it is up
        raise failure
