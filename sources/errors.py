"""The one error hierarchy every connector raises; nothing from httpx leaks past it.

    SourceError                 something went wrong talking to a source system
    ├── SourceUnavailable       connection refused, 5xx, circuit open      (retriable)
    │   ├── SourceTimeout       no answer within the timeout               (retriable)
    │   └── RateLimited         429, Salesforce 403 REQUEST_LIMIT_EXCEEDED (retriable)
    ├── SourceRejected          the vendor refused the request: 4xx         (fatal, vendor message)
    ├── SourceRequestError      the request could not be built or sent as asked (fatal, our bug
    │                           or a bad setting: invalid URL, unsupported scheme, ...)
    └── SourceDataError         the answer could not be understood         (fatal)

`code` is the machine code the GraphQL layer puts in `extensions.code`.
"""

from __future__ import annotations

from sources.records import SourceSystem


class SourceError(Exception):
    code = "SOURCE_ERROR"
    retriable = False

    def __init__(self, system: SourceSystem, message: str) -> None:
        super().__init__(f"{system.value}: {message}")
        self.system = system
        self.message = message


class SourceUnavailable(SourceError):
    code = "SOURCE_UNAVAILABLE"
    retriable = True


class SourceTimeout(SourceUnavailable):
    code = "SOURCE_TIMEOUT"


class RateLimited(SourceUnavailable):
    code = "RATE_LIMITED"

    def __init__(
        self, system: SourceSystem, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(system, message)
        self.retry_after = retry_after


class SourceRejected(SourceError):
    code = "SOURCE_REJECTED"

    def __init__(
        self,
        system: SourceSystem,
        message: str,
        *,
        status: int,
        vendor_code: str | None = None,
    ) -> None:
        super().__init__(system, message)
        self.status = status
        self.vendor_code = vendor_code


class SourceDataError(SourceError):
    code = "SOURCE_ERROR"


class SourceRequestError(SourceError):
    code = "SOURCE_REQUEST_INVALID"
