"""The store's SQLite connections, mended where a cancelled write left them stuck.

Two ways a task cancelled mid-write (a timeout, a lease stepping down, a client gone)
went wrong, each seen here and each with a test in `tests/unit/store/test_cancelled_writes.py`:

- **The write lock kept.** Python 3.11's sqlite3 closes a connection with
  `sqlite3_close_v2`: a statement still under way keeps the connection alive as a
  "zombie" until its cursor is collected, and a statement that has written keeps SQLite's
  write lock with it. SQLAlchemy closes a connection it gives up on (say, its task was
  cancelled just after an `INSERT ... RETURNING` ran and before its row was read) without
  closing that cursor, and the cursor lives on in the cancellation's traceback; every
  later write then waited out the busy timeout and failed with "database is locked".
  `CursorClosingConnection` closes the cursors first, which resets their statements.
- **A close that never ends.** Cancelled twice (say, by a timeout and then by the lease
  stopping), SQLAlchemy stops aiosqlite's thread and its graceful close goes on beside;
  aiosqlite 0.22's `close()` then stops the thread a second time and waits for an answer
  that the thread, gone after the first stop, never gives, so the event loop could not
  shut down. `StoppingOnceConnection` stops once and hands every later caller that stop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from contextlib import suppress
from functools import partial
from typing import Any

import aiosqlite

ITER_CHUNK_SIZE = 64  # aiosqlite.connect's default


class CursorClosingConnection(sqlite3.Connection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cursors: weakref.WeakSet[sqlite3.Cursor] = weakref.WeakSet()

    def cursor(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:  # type: ignore[override]
        cursor: sqlite3.Cursor = super().cursor(*args, **kwargs)
        self._cursors.add(cursor)
        return cursor

    def close(self) -> None:
        for cursor in list(self._cursors):
            with suppress(sqlite3.ProgrammingError):  # closed already: a second close
                cursor.close()
        super().close()


class StoppingOnceConnection(aiosqlite.Connection):
    _stopped: asyncio.Future[Any] | None = None
    _stop_asked = False

    def stop(self) -> asyncio.Future[Any] | None:
        if not self._stop_asked:
            self._stop_asked = True
            self._stopped = super().stop()
        return self._stopped


def open_connection(database: str, **kwargs: Any) -> StoppingOnceConnection:
    """What SQLAlchemy's aiosqlite dialect calls to open one (as `async_creator_fn`)."""
    connection = StoppingOnceConnection(
        partial(sqlite3.connect, database, factory=CursorClosingConnection, **kwargs),
        ITER_CHUNK_SIZE,
    )
    connection._thread.daemon = True  # as the dialect does: an open pool never blocks exit
    return connection
