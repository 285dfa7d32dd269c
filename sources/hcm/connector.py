"""The HCM connector: Workday staffing v6 workers, read through a reference snapshot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, ClassVar, TypeVar, cast
from urllib.parse import quote

import httpx
import msgspec

from sources.config import SourceSettings
from sources.connector import ChangeSet, Connector, NumberedCursors, Page, record_type
from sources.errors import SourceDataError, SourceRejected
from sources.hcm import SYSTEM
from sources.hcm.auth import WorkdayRefreshTokenAuth
from sources.hcm.cursor import decode_cursor, encode_cursor
from sources.hcm.errors import TokenRejectedError, classify_workday
from sources.hcm.mapping import worker_from_workday
from sources.hcm.search import matches_name_search
from sources.hcm.snapshot import Snapshot, SnapshotCache, pages_for, request_bound
from sources.http import SourceClient
from sources.memo import PER_ENTITY, RecordMemo
from sources.records import Record, SourceSystem, Worker

T = TypeVar("T")

MAX_PAGE = SYSTEM.page_max  # Workday's cap on `limit`
DEFAULT_WORKER_TTL = 900.0
FILTERS = frozenset({"practice", "skill", "search"})


class _WorkersPage(msgspec.Struct):
    """A page of workers, each kept as Workday's own JSON bytes: finding where each
    begins and ends is all a page costs until the memo meets bytes it has not seen."""

    data: list[msgspec.Raw] | dict[str, Any] | str | int | float | bool | None = None
    total: Any = None


# A body that is not an object decodes as nothing, and fails the page's checks.
_PAGE = msgspec.json.Decoder(_WorkersPage | list[Any] | str | int | float | bool | None)
_RAW = msgspec.json.Decoder(msgspec.Raw)


def _worker_from_raw(raw: msgspec.Raw, *, link: Callable[[str], str]) -> Worker:
    return worker_from_workday(msgspec.json.decode(raw), link=link)


class HcmConnector(Connector):
    """Workday workers (`worker` -> `Worker`), read-only.

    Credentials: `token` is the Integration System User's refresh token, `account_id` the
    tenant; `client_id`/`client_secret`, when set, authenticate the token exchange.
    `base_url` is the host root (`https://wd2-impl-services1.workday.com`).

    Reading by id. Workday has no batch-by-id, so `get_many` takes the cheaper of a
    fan-out of `GET /workers/{id}` (concurrent, under `settings.concurrency`) and the
    reference snapshot (`/workers` paged at 100), which is then kept for the worker TTL
    (`cache_ttl["worker"]`, 900 s by default): reads within it cost no request at all,
    and answer from the snapshot (a worker hired since reads as missing until it expires).

    The bound: a get_many of n distinct ids costs at most
    `request_bound(n, total)` = min(n, ceil(total / 100)) data requests, plus one token
    request when the access token is missing or expiring. It needs the population size,
    which the connector learns from its first page of `/workers`; before that, a read of
    up to `concurrency` ids fans out (n requests), and a larger one starts the snapshot
    and costs at most min(n + 1, ceil(total / 100)).

    Listing: `list` pages with offset cursors. `search` (name) is Workday's own filter;
    `practice` and `skill`, which Workday's REST API cannot filter on, are applied to the
    snapshot. Changes: `changes` diffs a fresh snapshot against the content digests the
    cursor carries (see `sources.hcm.cursor`); it costs one full read per call.
    """

    system: ClassVar[SourceSystem] = SourceSystem.HCM
    entities: ClassVar[Mapping[str, type[Record]]] = {"worker": Worker}
    batch_limit: ClassVar[int] = MAX_PAGE

    def __init__(
        self,
        settings: SourceSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        credentials = settings.credentials
        if credentials.token is None or not credentials.account_id:
            raise ValueError(
                "HCM needs credentials.token (the refresh token) "
                "and credentials.account_id (the tenant)"
            )
        self.settings = settings
        self.tenant = credentials.account_id
        root = settings.base_url.rstrip("/")
        tenant = quote(self.tenant, safe="")
        self._api = f"/ccx/api/staffing/v6/{tenant}"
        self._link_root = f"{root}/{tenant}/d/worker"
        secret = credentials.client_secret
        self.auth = WorkdayRefreshTokenAuth(
            f"{root}/ccx/oauth2/{tenant}/token",
            credentials.token.get_secret_value(),
            client_id=credentials.client_id,
            client_secret=secret.get_secret_value() if secret is not None else None,
            clock=clock,
        )
        self._client = SourceClient(
            self.system,
            settings,
            auth=self.auth,
            classify=classify_workday,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self.page_size = min(settings.batch_size or MAX_PAGE, MAX_PAGE)
        self._snapshots = SnapshotCache(settings.cache_ttl.get("worker", DEFAULT_WORKER_TTL), clock)
        self._population: int | None = None  # the tenant's worker count, once seen
        # A worker object seen before, byte for byte, gives back the record made from it
        # (sources.memo); pages keep each worker as Workday's own bytes (`_WorkersPage`).
        self._worker = RecordMemo(partial(_worker_from_raw, link=self._link), PER_ENTITY, key=bytes)

    def request_bound(self, n_ids: int, total: int) -> int:
        """Most data requests a get_many of `n_ids` distinct ids costs in a tenant of
        `total` workers, once the connector knows the population (see the class doc)."""
        return request_bound(n_ids, total, self.page_size)

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- reading by id ---------------------------------------------------------------

    async def get_many(self, entity: str, ids: Sequence[str]) -> list[Record | None]:
        record_type(self, entity)
        wanted = [worker_id for worker_id in dict.fromkeys(ids) if worker_id]
        found = await self._find(wanted) if wanted else {}
        return [found.get(worker_id) for worker_id in ids]

    async def _find(self, ids: list[str]) -> Mapping[str, Worker]:
        snapshot = self._snapshots.fresh()
        if snapshot is not None:
            return snapshot.workers
        if self._fan_out_is_cheaper(len(ids)):
            return await self._fetch_each(ids)
        async with self._snapshots.lock:
            snapshot = self._snapshots.fresh()
            if snapshot is not None:  # another reader built it while we waited
                return snapshot.workers
            if self._population is not None:
                return (await self._read_snapshot()).workers
            first, total = await self._fetch_page(0)
            rest = [worker_id for worker_id in ids if worker_id not in first]
            if len(rest) < pages_for(total, self.page_size) - 1:
                return {**first, **await self._fetch_each(rest)}
            return (await self._read_snapshot((first, total))).workers

    def _fan_out_is_cheaper(self, n_ids: int) -> bool:
        if self._population is None:
            return n_ids <= self.settings.concurrency  # one round of parallel requests
        return n_ids < pages_for(self._population, self.page_size)

    async def _fetch_each(self, ids: Iterable[str]) -> dict[str, Worker]:
        ids = list(ids)
        workers = await _all(self._fetch_one(worker_id) for worker_id in ids)
        return {wid: worker for wid, worker in zip(ids, workers, strict=True) if worker}

    async def _fetch_one(self, worker_id: str) -> Worker | None:
        try:
            response = await self._client.request(
                "GET", f"{self._api}/workers/{quote(worker_id, safe='')}"
            )
        except SourceRejected as error:
            # An unknown tenant is refused at the token exchange: any other 404 is the worker.
            if error.status == 404 and not isinstance(error, TokenRejectedError):
                return None
            raise
        return self._worker(self._client.parse_json(response, _RAW.decode))

    # --- the snapshot ----------------------------------------------------------------

    async def _snapshot(self, *, refresh: bool = False) -> Snapshot:
        if not refresh and (snapshot := self._snapshots.fresh()) is not None:
            return snapshot
        async with self._snapshots.lock:
            if not refresh and (snapshot := self._snapshots.fresh()) is not None:
                return snapshot
            return await self._read_snapshot()

    async def _read_snapshot(self, first: tuple[dict[str, Worker], int] | None = None) -> Snapshot:
        """Every worker, kept as the snapshot. Until the population is known, the first
        page tells it and the rest are asked for side by side after it; once it is known,
        every page is asked for at once: one round trip instead of two. A tenant that
        has grown past what a round was told costs one more round for the pages beyond."""
        if first is None and self._population is None:
            first = await self._fetch_page(0)
        workers: dict[str, Worker] = {}
        read, total = 0, max(self._population or 0, 1)  # an empty tenant: still one page
        if first is not None:
            page, total = first
            workers.update(page)
            read = self.page_size
        while read < total:
            offsets = range(read, total, self.page_size)
            pages = await _all(self._fetch_page(offset) for offset in offsets)
            for page, _ in pages:
                workers.update(page)
            read, total = offsets[-1] + self.page_size, max(count for _, count in pages)
        return self._snapshots.store(workers)

    async def _fetch_page(
        self, offset: int, limit: int | None = None, search: str | None = None
    ) -> tuple[dict[str, Worker], int]:
        params: dict[str, Any] = {
            "limit": self.page_size if limit is None else limit,
            "offset": offset,
        }
        if search is not None:
            params["search"] = search
        response = await self._client.request("GET", f"{self._api}/workers", params=params)
        body = self._client.parse_json(response, _PAGE.decode)
        data = body.data if isinstance(body, _WorkersPage) else None
        total = body.total if isinstance(body, _WorkersPage) else None
        if not isinstance(data, list) or not isinstance(total, int) or isinstance(total, bool):
            raise SourceDataError(self.system, "workers page without a data list and a total")
        if search is None:
            self._population = total
        workers = (self._worker(raw) for raw in data)
        return {worker.id: worker for worker in workers}, total

    def _link(self, worker_id: str) -> str:
        return f"{self._link_root}/{worker_id}"

    # --- listing ---------------------------------------------------------------------

    async def list(
        self,
        entity: str,
        filters: Mapping[str, Any] | None = None,
        *,
        page_size: int = 100,
        cursor: str | None = None,
    ) -> Page[Record]:
        """One page of workers. `page_size` is Workday's `limit` (it refuses more than
        100) unless `practice` or `skill` is given, which page the snapshot locally."""
        record_type(self, entity)
        wanted = _filters(filters)
        offset = _offset(cursor)
        if "practice" in wanted or "skill" in wanted:
            if page_size < 1:
                raise ValueError(f"page_size must be at least 1, not {page_size}")
            snapshot = await self._snapshot()
            matches = [w for w in snapshot.workers.values() if _matches(w, wanted)]
            return _page(matches[offset : offset + page_size], offset, len(matches))
        workers, total = await self._fetch_page(offset, page_size, wanted.get("search"))
        return _page(list(workers.values()), offset, total)

    def pages_after(
        self,
        entity: str,
        filters: Mapping[str, Any] | None,
        cursor: str | None,
        *,
        page_size: int,
        count: int,
    ) -> Sequence[str]:
        """Workday pages by offset: the offsets of the next pages of `page_size`."""
        start = _offset(cursor) + page_size
        return [str(offset) for offset in range(start, start + page_size * count, page_size)]

    # --- changes ---------------------------------------------------------------------

    async def changes(self, entity: str, cursor: str | None) -> ChangeSet[Record]:
        """Workers new or different since the cursor's snapshot, and the ids gone since."""
        record_type(self, entity)
        before = decode_cursor(cursor) if cursor is not None else None
        snapshot = await self._snapshot(refresh=True)
        digests = snapshot.digests
        now = encode_cursor(digests)
        if before is None:
            return ChangeSet(records=[], cursor=now)
        changed: list[Record] = [
            snapshot.workers[worker_id]
            for worker_id, content in digests.items()
            if before.get(worker_id) != content
        ]
        deleted = [worker_id for worker_id in before if worker_id not in digests]
        return ChangeSet(records=changed, cursor=now, deleted_ids=deleted)


async def _all(calls: Iterable[Awaitable[T]]) -> list[T]:
    """Run `calls` concurrently (the client bounds how many are in flight); when any fails,
    let the rest finish, then raise the first failure."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return cast(list[T], results)


def _filters(filters: Mapping[str, Any] | None) -> dict[str, str]:
    wanted = {key: value for key, value in (filters or {}).items() if value is not None}
    unknown = set(wanted) - FILTERS
    if unknown:
        raise ValueError(f"HCM workers cannot be filtered by {', '.join(sorted(unknown))}")
    for key, value in wanted.items():
        if not isinstance(value, str):
            raise ValueError(f"HCM filter {key} takes a string, not {value!r}")
    return wanted


def _matches(worker: Worker, filters: Mapping[str, str]) -> bool:
    practice = filters.get("practice")
    if practice is not None and (worker.practice or "").casefold() != practice.casefold():
        return False
    skill = filters.get("skill")
    if skill is not None and skill.casefold() not in {s.casefold() for s in worker.skills}:
        return False
    search = filters.get("search")
    return search is None or matches_name_search(worker.name, search)


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit():
        raise ValueError(f"not an HCM page cursor: {cursor!r}")
    return int(cursor)


def _page(workers: list[Worker], offset: int, total: int) -> Page[Record]:
    """A page at `offset`; the later pages, being offsets too, are named in `following`
    so that a reader needing several asks for them side by side."""
    end = offset + len(workers)
    items: list[Record] = list(workers)
    if not workers or end >= total:
        return Page(items=items, next_cursor=None, total=total)
    following = NumberedCursors(range(end, total, len(workers)), str)
    return Page(items=items, next_cursor=str(end), total=total, following=following)


CONNECTOR = HcmConnector
