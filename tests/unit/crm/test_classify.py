"""What each Salesforce answer means for the caller."""

from __future__ import annotations

import httpx
import pytest

from sources.crm.classify import classify
from sources.errors import (
    RateLimited,
    SourceDataError,
    SourceError,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
)
from sources.records import SourceSystem


def vendor(status: int, code: str, message: str = "something") -> httpx.Response:
    return httpx.Response(status, json=[{"message": message, "errorCode": code, "fields": []}])


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        pytest.param(httpx.Response(200, json={"records": []}), None, id="200-json"),
        pytest.param(httpx.Response(201, json={"id": "x"}), None, id="201-json"),
        pytest.param(httpx.Response(204), None, id="204-empty"),
        pytest.param(
            httpx.Response(200, text="<html>login</html>"), SourceDataError, id="200-html"
        ),
        pytest.param(httpx.Response(300, json=["/a", "/b"]), SourceRejected, id="300-several"),
        pytest.param(httpx.Response(304), None, id="304-not-modified"),
        pytest.param(vendor(400, "MALFORMED_QUERY"), SourceRejected, id="400-malformed"),
        pytest.param(vendor(400, "INVALID_FIELD"), SourceRejected, id="400-invalid-field"),
        pytest.param(vendor(401, "INVALID_SESSION_ID"), SourceRejected, id="401-after-refresh"),
        pytest.param(vendor(403, "REQUEST_LIMIT_EXCEEDED"), RateLimited, id="403-quota"),
        pytest.param(vendor(403, "INSUFFICIENT_ACCESS"), SourceRejected, id="403-access"),
        pytest.param(vendor(404, "NOT_FOUND"), SourceRejected, id="404"),
        pytest.param(httpx.Response(408), SourceTimeout, id="408"),
        pytest.param(httpx.Response(429), RateLimited, id="429"),
        pytest.param(vendor(500, "UNKNOWN_EXCEPTION"), SourceUnavailable, id="500"),
        pytest.param(
            httpx.Response(502, text="<html>bad gateway</html>"), SourceUnavailable, id="502-html"
        ),
        pytest.param(vendor(503, "SERVER_UNAVAILABLE"), SourceUnavailable, id="503"),
        pytest.param(httpx.Response(504), SourceTimeout, id="504"),
    ],
)
def test_answers_are_classified_by_what_the_caller_should_do(
    response: httpx.Response, expected: type[SourceError] | None
) -> None:
    error = classify(SourceSystem.CRM, response)

    if expected is None:
        assert error is None
    else:
        assert type(error) is expected
        assert error.system is SourceSystem.CRM


def test_rejections_carry_the_vendor_code_and_message() -> None:
    error = classify(SourceSystem.CRM, vendor(400, "INVALID_FIELD", "No such column 'Foo'"))

    assert isinstance(error, SourceRejected)
    assert error.status == 400
    assert error.vendor_code == "INVALID_FIELD"
    assert "No such column 'Foo'" in error.message


def test_the_daily_quota_carries_no_retry_after() -> None:
    error = classify(SourceSystem.CRM, vendor(403, "REQUEST_LIMIT_EXCEEDED"))

    assert isinstance(error, RateLimited)
    assert error.retry_after is None


def test_several_upsert_matches_are_named_in_the_rejection() -> None:
    error = classify(SourceSystem.CRM, httpx.Response(300, json=["/sobjects/Account/001A"]))

    assert isinstance(error, SourceRejected)
    assert error.vendor_code == "MULTIPLE_CHOICES"
    assert "001A" in error.message


def test_a_rejection_without_the_vendor_shape_keeps_the_text() -> None:
    error = classify(SourceSystem.CRM, httpx.Response(400, text="Bad Request"))

    assert isinstance(error, SourceRejected)
    assert error.vendor_code is None
    assert error.message == "Bad Request"
