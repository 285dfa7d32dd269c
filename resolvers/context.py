"""What every resolver of one request reaches through `info.context`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from resolvers.authority import Authority
from resolvers.errors import source_extensions
from resolvers.freshness import Freshness
from resolvers.limits import QueryLimits
from resolvers.loaders import Loaders
from resolvers.workflows import EventReader, WorkflowReader
from sources.errors import SourceError

if TYPE_CHECKING:
    from gateway.auth.principal import Principal
    from gateway.events.service import EventsService
    from gateway.observability.health import SourceHealthTracker
    from gateway.visibility.monitor import ExceptionMonitor
    from gateway.workflows.bootstrap import Workflows

Report = Callable[[SourceError], None]


@dataclass
class RequestContext:
    """Built per request by the gateway (`gateway.app`), inside the running event loop.

    Mutations and subscriptions add what they need as fields here (the store, the
    event bus, the authenticated caller) and the gateway fills them in one place.
    """

    loaders: Loaders
    authority: Authority
    limits: QueryLimits
    freshness: Freshness
    workflows: WorkflowReader
    events: EventReader
    debug: bool = False
    request: Any = None  # the HTTP request or WebSocket, for transport concerns
    live: EventsService | None = None  # event streams and dead letters, when running
    commands: Workflows | None = None  # the workflow engine's write side, when running
    principal: Principal | None = None  # the authenticated caller; None is allowed nothing
    connection_params: dict[str, Any] | None = None  # a WebSocket's connection_init payload
    health: SourceHealthTracker | None = None  # each source's health, as calls report it
    enforce_policy: bool = True  # off only in a benchmark measuring what the policy costs
    row_facts: dict[str, frozenset[str]] = field(default_factory=dict)  # resolvers.scope's
    reads_every: dict[str, bool] = field(default_factory=dict)  # resolvers.scope's
    visibility: ExceptionMonitor | None = None  # business exceptions, when the monitor runs
    partial_errors: list[GraphQLError] = field(default_factory=list)
    # place in the query (response path without list indices) -> names selected there
    selections: dict[tuple[str, ...], frozenset[str]] = field(default_factory=dict)

    def release(self) -> None:
        """The request has been answered: let go of what it read (`Loaders.release`)."""
        self.loaders.release()

    def reporter(self, path: list[str | int]) -> Report:
        """For fields that return what they could and name the source that failed
        (a list of references with one system missing): the error is added to the
        response's `errors` at `path`, next to the partial value."""

        def report(error: SourceError) -> None:
            self.partial_errors.append(
                GraphQLError(
                    str(error),
                    path=path,
                    original_error=error,
                    extensions=source_extensions(error),
                )
            )

        return report
