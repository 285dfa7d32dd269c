"""Errors the experience API raises itself, and how every error becomes a GraphQL error.

Source failures arrive as `sources.errors.SourceError` and keep their own machine code;
what the caller did wrong is `InvalidInputError` (BAD_USER_INPUT). Anything else is a bug and
is masked outside debug mode.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from sources.errors import RateLimited, SourceError

BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL = "INTERNAL_SERVER_ERROR"
MASKED_MESSAGE = "Unexpected error."

_SAFE_SOURCE_MESSAGES = {
    "SOURCE_UNAVAILABLE": "{system} is unavailable",
    "SOURCE_TIMEOUT": "{system} did not answer in time",
    "RATE_LIMITED": "{system} is rate limiting requests",
    "SOURCE_REJECTED": "{system} rejected the request",
    "SOURCE_ERROR": "{system} returned data that could not be read",
}


class InvalidInputError(ValueError):
    """A bad argument or id; the message is shown to the caller as is."""

    code = BAD_USER_INPUT


class ForbiddenError(InvalidInputError):
    """The caller's roles do not allow this field or operation (gateway.auth.policy)."""

    code = "FORBIDDEN"


class InvalidIdError(InvalidInputError):
    """An id whose key is not of its system's id format: refused before any upstream call.
    Its code stays BAD_USER_INPUT, which clients already handle; the message says why."""


def source_extensions(error: SourceError) -> dict[str, Any]:
    extensions: dict[str, Any] = {"code": error.code, "source": error.system.value}
    if isinstance(error, RateLimited) and error.retry_after is not None:
        extensions["retryAfter"] = error.retry_after
    return extensions


def present(error: GraphQLError, *, debug: bool) -> GraphQLError:
    """The error as the caller sees it: a machine code in `extensions.code`, the source
    in `extensions.source`, and no internals unless `debug`."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return error  # parse, validation and variable errors: about the request itself
    if isinstance(original, SourceError):
        extensions = source_extensions(original)
        message = (
            str(original)
            if debug
            else _SAFE_SOURCE_MESSAGES.get(original.code, "{system} failed").format(
                system=original.system.value
            )
        )
        return _rebuild(error, message, extensions)
    if isinstance(original, InvalidInputError):
        # a subclass may carry a more precise code (IDEMPOTENCY_CONFLICT, NOT_FOUND, ...)
        return _rebuild(error, str(original), {"code": original.code})
    return _rebuild(error, error.message if debug else MASKED_MESSAGE, {"code": INTERNAL})


def _rebuild(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions={**(error.extensions or {}), **extensions},
    )
