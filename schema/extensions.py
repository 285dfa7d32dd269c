"""Schema extensions of the gateway: how errors are shown, and how fresh the data is.

Both act once per operation (never per field), so they cost nothing per resolved value.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
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


class FreshnessReport(SchemaExtension):
    """`extensions.freshness`: per source, the age of the oldest data used and whether
    any of it was served stale."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        if not isinstance(context, RequestContext):
            return {}
        report = context.freshness.report()
        return {"freshness": report} if report else {}


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
