"""Kantata's failures, classified by what the caller should do; bearer auth on every call."""

from __future__ import annotations

import httpx
import pytest

from sources.errors import (
    RateLimited,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
)
from sources.psa.client import UNDATED_RATE_LIMIT_WAIT_S, BearerAuth, classify
from sources.records import SourceSystem


def _response(status: int, body: object = None, headers: dict[str, str] | None = None):
    request = httpx.Request("GET", "http://psa.test/api/v1/workspaces.json")
    if body is None:
        return httpx.Response(status, headers=headers, request=request)
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


def _errors(kind: str, message: str) -> dict[str, object]:
    return {"errors": [{"type": kind, "message": message}]}


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "message", "vendor_code", "retry_after"),
    [
        pytest.param(
            429,
            _errors("rate_limit", "slow down"),
            None,
            RateLimited,
            "slow down",
            None,
            UNDATED_RATE_LIMIT_WAIT_S,  # Kantata sends none: a rate window is waited out
            id="429-no-retry-after",
        ),
        pytest.param(
            429,
            _errors("rate_limit", "slow down"),
            {"Retry-After": "3"},
            RateLimited,
            "slow down",
            None,
            3.0,
            id="429-retry-after",
        ),
        pytest.param(
            401,
            _errors("authentication", "invalid token"),
            None,
            SourceRejected,
            "invalid token",
            "authentication",
            None,
            id="401",
        ),
        pytest.param(
            403,
            _errors("authorization", "admins only"),
            None,
            SourceRejected,
            "admins only",
            "authorization",
            None,
            id="403",
        ),
        pytest.param(
            404,
            _errors("not_found", "workspace 9 not found"),
            None,
            SourceRejected,
            "workspace 9 not found",
            "not_found",
            None,
            id="404",
        ),
        pytest.param(
            422,
            {
                "errors": [
                    {"type": "validation", "message": "title can't be blank"},
                    {"type": "validation", "message": "due_date is not a date"},
                ]
            },
            None,
            SourceRejected,
            "title can't be blank; due_date is not a date",
            "validation",
            None,
            id="422-several-errors",
        ),
        pytest.param(
            400,
            "plain text",
            None,
            SourceRejected,
            "plain text",
            None,
            None,
            id="400-not-json",
        ),
        pytest.param(
            422,
            {"errors": ["bad thing"]},
            None,
            SourceRejected,
            "bad thing",
            None,
            None,
            id="422-bare-strings",
        ),
        pytest.param(
            503,
            _errors("system", "down"),
            None,
            SourceUnavailable,
            "down",
            None,
            None,
            id="503",
        ),
        pytest.param(504, None, None, SourceTimeout, "Gateway Timeout", None, None, id="504"),
    ],
)
def test_failures_are_classified_with_the_vendor_message(
    status, body, headers, kind, message, vendor_code, retry_after
):
    error = classify(SourceSystem.PSA, _response(status, body, headers))

    assert type(error) is kind
    assert error is not None
    assert message in error.message
    if isinstance(error, SourceRejected):
        assert (error.status, error.vendor_code) == (status, vendor_code)
    if isinstance(error, RateLimited):
        assert error.retry_after == retry_after


@pytest.mark.parametrize("status", [200, 201, 204, 304])
def test_success_is_not_a_failure(status):
    assert classify(SourceSystem.PSA, _response(status)) is None


def test_bearer_auth_puts_the_token_on_every_request():
    request = httpx.Request("GET", "http://psa.test/api/v1/users.json")
    flow = BearerAuth("s3cret").auth_flow(request)
    assert next(flow).headers["Authorization"] == "Bearer s3cret"
