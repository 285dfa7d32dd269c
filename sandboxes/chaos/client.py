"""How the chaos run's clients and subscribers talk to the gateways: one place to add
headers (an auth token), and the failover every client of a replicated gateway has."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import httpx

SSE = "text/event-stream"


class GraphQLError(Exception):
    """The gateway answered with errors; `codes` holds their `extensions.code`."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(str(e.get("message")) for e in errors))
        self.errors = errors
        self.codes = [str((e.get("extensions") or {}).get("code")) for e in errors]


class GatewayDownError(Exception):
    """No gateway answered (all were down or restarting)."""


class Gateways:
    """GraphQL over HTTP to any of several gateways: a request that cannot reach one
    (killed, restarting) goes to the next, as a load balancer would send it."""

    def __init__(self, urls: Sequence[str], headers: Mapping[str, str] | None = None) -> None:
        self.urls = list(urls)
        self.headers = dict(headers or {})
        self._http = httpx.AsyncClient(headers=self.headers, timeout=60)
        self._turn = 0

    async def query(
        self, document: str, *, prefer: int | None = None, **variables: Any
    ) -> dict[str, Any]:
        """The data, from gateway `prefer` (an index) if it answers, else another."""
        first = self._next() if prefer is None else prefer
        order = [self.urls[(first + i) % len(self.urls)] for i in range(len(self.urls))]
        for _ in range(30):
            for url in order:
                try:
                    response = await self._http.post(
                        f"{url}/graphql", json={"query": document, "variables": variables}
                    )
                except httpx.HTTPError:
                    continue
                if response.status_code >= 500 and "errors" not in response.text:
                    continue
                body: dict[str, Any] = response.json()
                if body.get("errors"):
                    raise GraphQLError(body["errors"])
                data: dict[str, Any] = body["data"]
                return data
            await asyncio.sleep(1.0)
        raise GatewayDownError(f"no gateway of {self.urls} answered")

    async def subscribe(
        self, document: str, *, gateway: int, **variables: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """Each `next` result's data from one gateway's SSE stream, until it ends."""
        url = f"{self.urls[gateway]}/graphql"
        body = {"query": document, "variables": variables}
        headers = {"accept": SSE}
        async with self._http.stream(
            "POST", url, json=body, headers=headers, timeout=httpx.Timeout(60, read=None)
        ) as response:
            response.raise_for_status()
            kind = ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    kind = line.partition(":")[2].strip()
                elif line.startswith("data:") and kind == "next":
                    result = json.loads(line.partition(":")[2])
                    if result.get("errors"):
                        raise GraphQLError(result["errors"])
                    yield result["data"]
                elif kind == "complete":
                    return

    def _next(self) -> int:
        self._turn += 1
        return self._turn % len(self.urls)

    async def aclose(self) -> None:
        await self._http.aclose()
