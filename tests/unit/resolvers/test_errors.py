from __future__ import annotations

import pytest
from graphql import GraphQLError

from resolvers.errors import InvalidInputError, present
from sources.errors import (
    RateLimited,
    SourceDataError,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
)
from sources.records import SourceSystem

ERP = SourceSystem.ERP


def raised(original: Exception) -> GraphQLError:
    return GraphQLError(str(original), path=["projects", 0, "financeCode"], original_error=original)


@pytest.mark.parametrize(
    ("original", "code", "message"),
    [
        pytest.param(
            SourceUnavailable(ERP, "HTTP 503 at http://10.0.0.1"),
            "SOURCE_UNAVAILABLE",
            "ERP is unavailable",
            id="unavailable",
        ),
        pytest.param(
            SourceTimeout(ERP, "read timeout"),
            "SOURCE_TIMEOUT",
            "ERP did not answer in time",
            id="timeout",
        ),
        pytest.param(
            RateLimited(ERP, "429"),
            "RATE_LIMITED",
            "ERP is rate limiting requests",
            id="rate-limited",
        ),
        pytest.param(
            SourceRejected(ERP, "bad field", status=400),
            "SOURCE_REJECTED",
            "ERP rejected the request",
            id="rejected",
        ),
        pytest.param(
            SourceDataError(ERP, "bad json"),
            "SOURCE_ERROR",
            "ERP returned data that could not be read",
            id="data",
        ),
    ],
)
def test_a_source_failure_carries_its_code_and_source_and_no_internals(original, code, message):
    error = present(raised(original), debug=False)

    assert error.extensions == {"code": code, "source": "ERP"}
    assert error.message == message
    assert error.path == ["projects", 0, "financeCode"]


def test_in_debug_the_sources_own_message_is_kept():
    error = present(raised(SourceUnavailable(ERP, "HTTP 503 at x")), debug=True)

    assert error.message == "ERP: HTTP 503 at x"


def test_rate_limits_say_when_to_retry():
    error = present(raised(RateLimited(ERP, "429", retry_after=2.0)), debug=False)

    assert (error.extensions or {})["retryAfter"] == 2.0


def test_bad_input_keeps_its_message():
    error = present(raised(InvalidInputError("first must be between 0 and 1000")), debug=False)

    assert error.message == "first must be between 0 and 1000"
    assert error.extensions == {"code": "BAD_USER_INPUT"}


def test_anything_else_is_masked_outside_debug():
    error = present(raised(KeyError("secret internals")), debug=False)

    assert error.message == "Unexpected error."
    assert error.extensions == {"code": "INTERNAL_SERVER_ERROR"}
    assert "secret" in present(raised(KeyError("secret internals")), debug=True).message


def test_errors_about_the_query_text_are_left_as_they_are():
    error = GraphQLError("Cannot query field 'nope' on type 'Query'.")

    assert present(error, debug=False) is error
