"""What NetSuite's answers mean to the caller: the error classification table."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sources.erp.client import NetSuiteBearerAuth, classify, parse_body
from sources.errors import (
    RateLimited,
    SourceDataError,
    SourceError,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
)
from sources.records import SourceSystem


def netsuite_error(status: int, code: str, detail: str = "it went wrong", **extra: Any) -> Any:
    return {
        "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
        "title": extra.get("title", "Bad Request"),
        "status": status,
        "o:errorDetails": [{"detail": detail, "o:errorCode": code}],
    }


@pytest.mark.parametrize(
    ("status", "body", "expected", "vendor_code"),
    [
        pytest.param(200, {"items": []}, None, None, id="success"),
        pytest.param(
            429,
            netsuite_error(429, "CONCURRENCY_LIMIT_EXCEEDED"),
            RateLimited,
            None,
            id="concurrency-limit",
        ),
        pytest.param(
            400,
            netsuite_error(400, "SSS_REQUEST_LIMIT_EXCEEDED"),
            RateLimited,
            None,
            id="restlet-style-limit",
        ),
        pytest.param(
            400,
            netsuite_error(400, "IDEMPOTENCY_ERROR", title="Conflict"),
            SourceRejected,
            "IDEMPOTENCY_ERROR",
            id="idempotency-conflict",
        ),
        pytest.param(
            400,
            netsuite_error(400, "INVALID_PARAMETER"),
            SourceRejected,
            "INVALID_PARAMETER",
            id="bad-query",
        ),
        pytest.param(
            401, netsuite_error(401, "INVALID_LOGIN"), SourceRejected, "INVALID_LOGIN", id="auth"
        ),
        pytest.param(
            404, netsuite_error(404, "NONEXISTENT_ID"), SourceRejected, "NONEXISTENT_ID", id="gone"
        ),
        pytest.param(
            500, netsuite_error(500, "UNEXPECTED_ERROR"), SourceUnavailable, None, id="500"
        ),
        pytest.param(503, "Service Unavailable", SourceUnavailable, None, id="503-not-json"),
        pytest.param(504, "", SourceTimeout, None, id="gateway-timeout"),
        pytest.param(400, "<html>proxy</html>", SourceRejected, None, id="400-not-json"),
    ],
)
def test_responses_are_classified_by_what_the_caller_should_do(
    status: int, body: Any, expected: type[SourceError] | None, vendor_code: str | None
) -> None:
    response = (
        httpx.Response(status, json=body)
        if isinstance(body, dict)
        else httpx.Response(status, text=body)
    )
    error = classify(SourceSystem.ERP, response)
    if expected is None:
        assert error is None
        return
    assert type(error) is expected
    if isinstance(error, SourceRejected):
        assert error.status == status
        assert error.vendor_code == vendor_code


def test_a_rejection_carries_the_vendor_title_and_detail() -> None:
    response = httpx.Response(
        400, json=netsuite_error(400, "IDEMPOTENCY_ERROR", "key reused", title="Conflict")
    )
    error = classify(SourceSystem.ERP, response)
    assert isinstance(error, SourceRejected)
    assert error.message == "Conflict: key reused"


def test_bodies_keep_exact_decimals_and_garbage_is_a_data_error() -> None:
    request = httpx.Request("POST", "http://erp.test/q")
    ok = httpx.Response(200, content=b'{"total": 0.1}', request=request)
    assert str(parse_body(SourceSystem.ERP, ok)["total"]) == "0.1"
    garbage = httpx.Response(200, content=b"<html>upstream proxy error", request=request)
    with pytest.raises(SourceDataError):
        parse_body(SourceSystem.ERP, garbage)


def test_the_bearer_token_rides_on_every_request() -> None:
    flow = NetSuiteBearerAuth("s3cret").auth_flow(httpx.Request("GET", "http://erp.test/"))
    assert next(flow).headers["Authorization"] == "Bearer s3cret"
