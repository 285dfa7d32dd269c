"""The demo's store starts empty whenever the demo starts.

The sandboxes generate their world afresh on every start and hand out the same ids again,
so a store kept from an earlier run would hold crosswalk rows, workflows and change-capture
cursors about records that no longer exist, or that now mean something else (and a won
deal's quote-to-project would stop on a crosswalk conflict).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

# SQLite's companions of a database file: the write-ahead log, its index, the rollback journal.
_COMPANIONS = ("", "-wal", "-shm", "-journal")


def sqlite_file(store_url: str) -> Path | None:
    """The file of a file-backed SQLite store, None for an in-memory one or another database."""
    url = make_url(store_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def start_fresh(store_url: str) -> Path | None:
    """Delete the SQLite store behind `store_url` (and its companions) so the gateway creates
    it anew; the file's folder is made if missing. Returns the file, None if not SQLite."""
    path = sqlite_file(store_url)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in _COMPANIONS:
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    return path
