"""Workday's error answers become the errors callers act on."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sources.errors import (
    RateLimited,
    SourceError,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
)
from sources.hcm.errors import TokenRejectedError, classify_workday
from sources.records import SourceSystem

WORKERS = "https://wd.example/ccx/api/staffing/v6/acme/workers"
TOKEN = "https://wd.example/ccx/oauth2/acme/token"


def answer(
    status: int, body: Any = None, text: str = "", url: str = WORKERS, **headers: str
) -> httpx.Response:
    request = httpx.Request("POST" if url == TOKEN else "GET", url)
    if body is not None:
        return httpx.Response(status, json=body, headers=headers, request=request)
    return httpx.Response(status, text=text, headers=headers, request=request)


@pytest.mark.parametrize(
    ("response", "kind", "message", "code"),
    [
        pytest.param(
            answer(400, {"error": "limit must be between 1 and 100", "code": "INVALID_PARAMETER"}),
            SourceRejected,
            "limit must be between 1 and 100",
            "INVALID_PARAMETER",
            id="400-workday-shape",
        ),
        pytest.param(
            answer(401, {"error": "invalid or expired access token", "code": "INVALID_AUTH"}),
            SourceRejected,
            "invalid or expired access token",
            "INVALID_AUTH",
            id="401-bad-token",
        ),
        pytest.param(
            answer(
                400,
                {"error": "invalid_grant", "error_description": "refresh token revoked"},
                url=TOKEN,
            ),
            TokenRejectedError,
            "token exchange refused: refresh token revoked",
            "invalid_grant",
            id="400-token-exchange",
        ),
        pytest.param(
            answer(404, {"error": "tenant 'acme' not found", "code": "INVALID_TENANT"}, url=TOKEN),
            TokenRejectedError,
            "token exchange refused: tenant 'acme' not found",
            "INVALID_TENANT",
            id="404-token-exchange",
        ),
        pytest.param(
            answer(
                400,
                {"error": "validation failed", "errors": [{"error": "required", "field": "id"}]},
            ),
            SourceRejected,
            "validation failed (id: required)",
            None,
            id="400-field-errors",
        ),
        pytest.param(
            answer(404, {"error": "worker 'x' not found", "code": "NOT_FOUND"}),
            SourceRejected,
            "worker 'x' not found",
            "NOT_FOUND",
            id="404",
        ),
        pytest.param(
            answer(403, text="<html>Forbidden</html>"),
            SourceRejected,
            "<html>Forbidden</html>",
            None,
            id="403-not-json",
        ),
        pytest.param(
            answer(429, {"error": "too many requests", "code": "RATE_LIMITED"}),
            RateLimited,
            "too many requests",
            None,
            id="429",
        ),
        pytest.param(answer(503, text="down"), SourceUnavailable, "HTTP 503: down", None, id="503"),
        pytest.param(answer(504, text="slow"), SourceTimeout, "slow", None, id="504"),
    ],
)
def test_error_answers_are_classified(
    response: httpx.Response, kind: type[SourceError], message: str, code: str | None
) -> None:
    error = classify_workday(SourceSystem.HCM, response)

    assert type(error) is kind
    assert error.message == message
    assert error.system is SourceSystem.HCM
    if isinstance(error, SourceRejected):
        assert error.status == response.status_code
        assert error.vendor_code == code


def test_rate_limits_carry_the_retry_after() -> None:
    error = classify_workday(
        SourceSystem.HCM, answer(429, text="slow down", **{"Retry-After": "3"})
    )

    assert isinstance(error, RateLimited)
    assert error.retry_after == 3.0


@pytest.mark.parametrize("status", [200, 204, 304])
def test_success_is_not_an_error(status: int) -> None:
    assert classify_workday(SourceSystem.HCM, answer(status, text="")) is None
