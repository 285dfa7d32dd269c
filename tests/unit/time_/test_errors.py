"""Harvest's error answers become our error hierarchy, by what the caller should do."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sources.errors import (
    RateLimited,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
)
from sources.records import SourceSystem
from sources.time.errors import classify_harvest

TIME = SourceSystem.TIME


def answer(status: int, body: Any = None, **headers: str) -> httpx.Response:
    request = httpx.Request("GET", "https://api.harvestapp.com/v2/time_entries")
    if body is None:
        return httpx.Response(status, headers=headers, request=request)
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


def test_success_is_not_an_error() -> None:
    assert classify_harvest(TIME, answer(200, {"time_entries": []})) is None
    assert classify_harvest(TIME, answer(201, {"id": 1})) is None


def test_429_is_rate_limited_with_harvests_retry_after() -> None:
    error = classify_harvest(TIME, answer(429, {"message": "slow down"}, **{"Retry-After": "9"}))

    assert isinstance(error, RateLimited)
    assert error.retry_after == 9.0
    assert error.message == "slow down"


@pytest.mark.parametrize(
    ("status", "body", "message", "code"),
    [
        pytest.param(
            400,
            {"status": 400, "error": "bad_request", "message": "a User-Agent header is required"},
            "a User-Agent header is required",
            "bad_request",
            id="400-no-user-agent",
        ),
        pytest.param(
            401,
            {"error": "invalid_token", "error_description": "The access token is invalid."},
            "The access token is invalid.",
            "invalid_token",
            id="401-oauth-shape",
        ),
        pytest.param(
            403,
            {"error": "forbidden", "error_description": "no such account"},
            "no such account",
            "forbidden",
            id="403",
        ),
        pytest.param(
            404,
            {"status": 404, "error": "Not Found"},
            "Not Found",
            "Not Found",
            id="404",
        ),
        pytest.param(
            422,
            {"message": "per_page must be less than or equal to 2000"},
            "per_page must be less than or equal to 2000",
            None,
            id="422-harvest-shape",
        ),
        pytest.param(
            409, "conflict, in plain text", "conflict, in plain text", None, id="409-text"
        ),
    ],
)
def test_refusals_are_rejected_with_harvests_own_message(
    status: int, body: Any, message: str, code: str | None
) -> None:
    error = classify_harvest(TIME, answer(status, body))

    assert isinstance(error, SourceRejected)
    assert (error.status, error.message, error.vendor_code) == (status, message, code)
    assert not error.retriable


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        pytest.param(500, SourceUnavailable, id="500"),
        pytest.param(503, SourceUnavailable, id="503"),
        pytest.param(408, SourceTimeout, id="408"),
        pytest.param(504, SourceTimeout, id="504"),
    ],
)
def test_server_trouble_is_retriable(status: int, kind: type[Exception]) -> None:
    error = classify_harvest(TIME, answer(status, {"status": status, "error": "oops"}))

    assert isinstance(error, kind)
    assert error.retriable
