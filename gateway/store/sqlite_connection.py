"""A sqlite3 connection that closes its cursors when it closes.

Python 3.11's sqlite3 closes a connection with `sqlite3_close_v2`: a statement still
under way keeps the connection alive as a "zombie" until its cursor is collected, and a
statement that has written keeps SQLite's write lock with it. SQLAlchemy closes a
connection it gives up on (say, its task was cancelled just after an
`INSERT ... RETURNING` ran and before its row was read) without closing that cursor,
and the cursor lives on in the cancellation's traceback; seen here, every later write
then waited out the busy timeout and failed with "database is locked". Closing the
cursors first resets their statements and lets the lock go with the connection.
"""

from __future__ import annotations

import sqlite3
import weakref
from contextlib import suppress
from typing import Any


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
