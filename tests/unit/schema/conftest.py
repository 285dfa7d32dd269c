"""Running GraphQL operations against the gateway over in-process fake sources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gateway.app import Gateway, build_gateway
from gateway.auth.principal import SYSTEM, Principal
from gateway.settings import Settings
from resolvers import ids
from resolvers.cache import CachePolicy, SourceCache
from resolvers.upstream import Upstream
from tests.unit.resolvers.fakes import Firm, firm

AUTHORITY = {
    "client": {"*": "CRM", "paymentTerms": "ERP", "creditStatus": "ERP"},
    "project": {"*": "PSA", "financeCode": "ERP"},
    "resource": {"*": "HCM"},
}


def gateway_over(
    sources: Firm,
    *,
    authority: dict[str, dict[str, str]] | None = None,
    debug: bool = False,
    cache: SourceCache | None = None,
    **parts: Any,
) -> Gateway:
    settings = Settings(authority=AUTHORITY if authority is None else authority, debug=debug)
    gateway = build_gateway(settings, connectors=sources.connectors, **parts)
    if cache is not None:
        gateway.upstream = Upstream(sources.connectors, cache)
    return gateway


class Run:
    """Executes operations as the HTTP endpoint would, with a fresh request context, as
    `principal` (the gateway's own, which may do everything, unless told)."""

    def __init__(self, gateway: Gateway, principal: Principal = SYSTEM) -> None:
        self.gateway = gateway
        self.principal = principal

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        context = await self.gateway.context(principal=self.principal)
        return await self.gateway.schema.execute(
            query, variable_values=variables, context_value=context
        )

    async def node(
        self,
        type_name: str,
        key: str,
        selection: str,
        variables: dict[str, Any] | None = None,
        declared: str = "",
    ) -> Any:
        """`node(id)` of the object `type_name`:`key`, with `selection` on that type."""
        on_type = f"... on {type_name} {{ {selection} }}"
        query = f"query($id: ID!{declared}) {{ node(id: $id) {{ {on_type} }} }}"
        return await self(query, {"id": ids.encode(type_name, key), **(variables or {})})


@pytest.fixture
def sources() -> Firm:
    return firm(4)


@pytest.fixture
def run(sources: Firm) -> Run:
    return Run(gateway_over(sources))


@pytest.fixture
def make_run() -> Callable[..., Run]:
    def make(sources: Firm, **options: Any) -> Run:
        return Run(gateway_over(sources, **options))

    return make


def errors_of(result: Any) -> list[dict[str, Any]]:
    return [error.formatted for error in result.errors or []]


def stale_cache(clock: Callable[[], float], ttls: dict[Any, dict[str, float]]) -> SourceCache:
    return SourceCache(ttls, CachePolicy(stale_if_error=300), clock=clock)
