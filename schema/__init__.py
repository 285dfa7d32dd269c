"""The unified GraphQL schema: thin strawberry types over `resolvers`.

`build_schema()` assembles it. The read side is `schema.query.Query`; mutations and
subscriptions are passed in as their root types, so adding them is one argument:

    schema = build_schema(mutation=Mutation, subscription=Subscription, limits=...)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from resolvers.limits import QueryLimits
from schema.cost import CostPolicy
from schema.extensions import ErrorPresentation, FreshnessReport, log_errors
from schema.guard import Throttle, admission_guard
from schema.lean import LeanExecution, lean_resolvers
from schema.nodes import NODES
from schema.query import Query
from schema.trusted import TrustedDocuments, trusted_documents

__all__ = ["GatewaySchema", "build_schema"]


class GatewaySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors)


def build_schema(
    *,
    query: type = Query,
    mutation: type | None = None,
    subscription: type | None = None,
    limits: QueryLimits | None = None,
    cost: CostPolicy | None = None,
    trusted: TrustedDocuments | None = None,
    throttle: Throttle | None = None,
    types: Sequence[type] = (),
    extensions: Sequence[Callable[[], SchemaExtension]] = (),
) -> GatewaySchema:
    """The schema with the query-safety and error extensions; `query` replaces the read
    side's root (with more fields merged in, say); `types` adds concrete
    types only reachable through an interface, `extensions` adds schema extensions
    (as factories: strawberry builds one per operation)."""
    limits = limits or QueryLimits()
    safety: list[Callable[[], SchemaExtension]] = [
        trusted_documents(trusted or TrustedDocuments()),
        admission_guard(limits, cost, throttle),
        ErrorPresentation,
        FreshnessReport,
    ]
    factories: list[Any] = [*safety, *extensions]
    schema = GatewaySchema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        types=[*NODES, *types],
        extensions=factories,
        execution_context_class=LeanExecution,
    )
    lean_resolvers(schema)
    return schema
