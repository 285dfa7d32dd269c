"""Schema extensions of the gateway: how errors are shown, and how fresh the data is.

Both act once per operation (never per field), so they cost nothing per resolved value.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from resolvers.context import RequestContext
from resolvers.errors import InvalidInputError, present
from sources.errors import SourceError

log = logging.getLogger("psgraph.graphql")


class ErrorPresentation(SchemaExtension):
    """Adds the errors of partly answered fields, then gives every error its machine
    code and source and masks internals outside debug."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        context = self.execution_context.context
        if result is None or not isinstance(context, RequestContext):
            return
        errors = list(result.errors or []) + context.partial_errors
        if errors:
            result.errors = [present(error, debug=context.debug) for error in errors]
            forget_tracebacks([*errors, *result.errors])


class FreshnessReport(SchemaExtension):
    """`extensions.freshness`: per source, the age of the oldest data used and whether
    any of it was served stale."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        if not isinstance(context, RequestContext):
            return {}
        report = context.freshness.report()
        return {"freshness": report} if report else {}


def forget_tracebacks(errors: Iterable[BaseException]) -> None:
    """Drop the tracebacks of errors already logged (`log_errors` runs first), and of
    their causes. A traceback holds the frames that raised the error, the frames hold the
    request's execution, and the execution holds its errors: a cycle that would leave the
    whole request, frames and all, to the cycle collector (a page of twenty fields the
    caller may not read was ~1,000 objects a request)."""
    pending: list[BaseException] = list(errors)
    seen: set[int] = set()
    while pending:
        error = pending.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        error.__traceback__ = None
        linked = (getattr(error, "original_error", None), error.__cause__, error.__context__)
        pending.extend(e for e in linked if isinstance(e, BaseException))


def log_errors(errors: list[GraphQLError]) -> None:
    """Source failures and bad input are expected: one line each. Anything else is a
    bug and is logged with its traceback."""
    for error in errors:
        original = error.original_error
        if isinstance(original, SourceError):
            log.warning("%s at %s: %s", original.code, error.path, original)
        elif isinstance(original, InvalidInputError):
            log.info("bad input at %s: %s", error.path, original)
        elif original is None or isinstance(original, GraphQLError):
            log.info("rejected request: %s", error.message)
        else:
            log.error("error at %s", error.path, exc_info=original)
