"""What one scan reads from the sources: whole listings, each read at most once a scan.

Detectors share listings (projects feed three of them), so a scan asks each (system,
entity, filters) once, in pages as large as the vendor allows, and hands every detector
the same records. Nothing here is cached across scans: a scan is a fresh look.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

from sources.connector import Connector, Page, every_page
from sources.records import Record, SourceSystem

# The largest page each vendor serves (Salesforce, Kantata, Workday, NetSuite, Harvest);
# asking for more is refused.
PAGE_SIZE = {
    SourceSystem.CRM: 2000,
    SourceSystem.PSA: 200,
    SourceSystem.HCM: 100,
    SourceSystem.ERP: 1000,
    SourceSystem.TIME: 2000,
}
ID_CHUNK = 500  # ids per filtered listing


class SourceView:
    def __init__(self, connectors: Mapping[SourceSystem, Connector]) -> None:
        self._connectors = connectors
        self._listings: dict[str, asyncio.Task[list[Record]]] = {}

    def has(self, *systems: SourceSystem) -> bool:
        return all(system in self._connectors for system in systems)

    async def listing(
        self, system: SourceSystem, entity: str, filters: Mapping[str, Any] | None = None
    ) -> list[Record]:
        """Every record of `entity` matching `filters`; shared by the scan's detectors."""
        key = json.dumps([system.value, entity, filters or {}], sort_keys=True, default=str)
        task = self._listings.get(key)
        if task is None:
            task = asyncio.ensure_future(self._read_all(system, entity, filters))
            self._listings[key] = task
        return await asyncio.shield(task)

    async def by_ids(
        self, system: SourceSystem, entity: str, field: str, ids: Sequence[str]
    ) -> list[Record]:
        """Records whose `field` is one of `ids`, in listings of ID_CHUNK ids each."""
        chunks = [sorted(ids)[n : n + ID_CHUNK] for n in range(0, len(ids), ID_CHUNK)]
        pages = await asyncio.gather(
            *(self.listing(system, entity, {field: chunk}) for chunk in chunks)
        )
        return [record for page in pages for record in page]

    async def get_many(self, system: SourceSystem, entity: str, ids: Sequence[str]) -> list[Record]:
        """The records with these ids that exist (the connector batches them)."""
        if not ids:
            return []
        found = await self._connectors[system].get_many(entity, list(ids))
        return [record for record in found if record is not None]

    async def aggregate(
        self, system: SourceSystem, name: str, ids: Sequence[str]
    ) -> Mapping[str, Any]:
        """The connector's aggregate `name` by id (`scheduled_jobs`, ...): `{id: value}`,
        without reading the records it is worked out from."""
        if not ids:
            return {}
        answer: Mapping[str, Any] = await getattr(self._connectors[system], name)(list(ids))
        return answer

    async def _read_all(
        self, system: SourceSystem, entity: str, filters: Mapping[str, Any] | None
    ) -> list[Record]:
        connector = self._connectors[system]

        def read(cursor: str | None) -> Awaitable[Page[Record]]:
            return connector.list(entity, filters, page_size=PAGE_SIZE[system], cursor=cursor)

        return await every_page(read)

    def close(self) -> None:
        for task in self._listings.values():
            if not task.done():
                task.cancel()
            elif not task.cancelled():
                task.exception()  # retrieved: a failed listing already failed its readers
