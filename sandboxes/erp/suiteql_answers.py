"""SuiteQL answers kept between the pages of a paged read.

NetSuite pages a SuiteQL answer with `limit` and `offset`, one request a page. Evaluating
and sorting the whole answer again for every page makes reading N pages cost N whole
answers, so an answer with rows left after the page served is kept, under its query's
normal form, and the pages that follow are cut from it.

Any write may change any answer (a subquery or BUILTIN.DF reads other tables), so every
kept answer is dropped once the store's generation moves on: a page always shows the
store as it is when that page is asked for, exactly as evaluating afresh would.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Protocol

from sandboxes.erp.suiteql import normal_form, parse
from sandboxes.erp.suiteql_engine import Answer, Table, evaluate

# Enough for the concurrent paged reads of a busy gateway; an answer is a list of
# references to rows the store holds anyway, so even a big one costs little.
CAPACITY = 32


class Source(Protocol):
    """Tables to query, and a count that changes whenever any of their rows do."""

    generation: int

    def table(self, name: str) -> Table: ...


class Answers:
    """Pages of SuiteQL answers over `source`, the most recently used `capacity` answers
    with pages still to come kept until the source changes."""

    def __init__(self, source: Source, capacity: int = CAPACITY) -> None:
        self._source = source
        self._capacity = capacity
        self._generation = source.generation
        self._kept: OrderedDict[str, Answer] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def page(self, text: str, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Rows `offset` to `offset + limit` of the answer to `text`, and the number of
        rows in the whole answer. Raises `SuiteQLError` for a query that cannot run."""
        if self._generation != self._source.generation:
            self._kept.clear()
            self._generation = self._source.generation
        key = normal_form(text)
        answer = self._kept.get(key)
        if answer is not None:
            self._kept.move_to_end(key)
            return answer.page(offset, limit), answer.total
        # The original text, not the key, so error messages quote the query as written.
        answer = evaluate(parse(text), self._source.table)
        rows = answer.page(offset, limit)
        if offset + limit < answer.total:
            self._kept[key] = answer
            if len(self._kept) > self._capacity:
                self._kept.popitem(last=False)
        return rows, answer.total
