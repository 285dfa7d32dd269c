"""The hook through which upstream calls are watched: metrics, traces, source health.

`sources` imports nothing of the gateway, so `SourceClient` reports what each call does
to a `CallObserver` that the gateway hands it (`SourceClient.observer`); with none set,
a call costs nothing extra. One logical call (retries included) is one `ObservedCall`:

    call = observer.begin(system, "GET", "/v2/time_entries/{id}")
    call.propagate(headers)                      # trace context for the vendor
    call.paced(0.2)                              # waited for the client-side rate limit
    call.attempted(503, "SOURCE_UNAVAILABLE", 0.05, response.headers)
    call.retrying("SOURCE_UNAVAILABLE", 0.1)     # about to sleep, then try again
    call.finished(None)                          # or the code of the error raised

`route_template` turns a URL into a low-cardinality route label (ids become `{id}`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from functools import lru_cache
from typing import Protocol
from urllib.parse import urlsplit

from sources.records import SourceSystem

CANCELLED = "CANCELLED"


class ObservedCall(Protocol):
    def propagate(self, headers: MutableMapping[str, str]) -> None:
        """Add the call's trace context to the headers sent upstream."""

    def paced(self, seconds: float) -> None:
        """The call waited `seconds` for the client-side rate limit."""

    def attempted(
        self,
        status: int | None,
        error: str | None,
        seconds: float,
        headers: Mapping[str, str] | None,
    ) -> None:
        """One HTTP attempt ended: its status (None without an answer), the error code it
        maps to (None on success), how long it took, and the answer's headers."""

    def rejected(self, error: str) -> None:
        """The call was refused before reaching the source (an open circuit breaker)."""

    def retrying(self, error: str, delay: float) -> None:
        """An attempt failed with `error`; the call sleeps `delay` seconds and retries."""

    def finished(self, error: str | None) -> None:
        """The logical call ended: the error code it raised, None on success, or
        `CANCELLED` when its caller stopped waiting (says nothing of the source)."""


class CallObserver(Protocol):
    def begin(self, system: SourceSystem, method: str, route: str) -> ObservedCall:
        """A logical call starts (its first attempt follows)."""


# A path segment that names one record rather than a collection: anything with a digit
# (Salesforce 18-char ids, Harvest and NetSuite numbers, uuids) except API versions such
# as "v2" or "v59.0", plus NetSuite's "eid:..." external ids.
_VERSION = re.compile(r"^v\d+(\.\d+)*$")


def _templated(segment: str) -> str:
    if not segment or _VERSION.match(segment):
        return segment
    if segment.startswith("eid:"):
        return "eid:{id}"
    if any(ch.isdigit() for ch in segment):
        return "{id}"
    return segment


@lru_cache(maxsize=4096)  # the same few URLs come back all the time; bounded for the rest
def route_template(url: str) -> str:
    """`url`'s path with record ids replaced by `{id}` and without its query string."""
    path = urlsplit(url).path or "/"
    return "/".join(_templated(segment) for segment in path.split("/"))
