"""Whole SuiteQL answers: paged like a one-off query, kept between pages until the tables
change, one per query text (up to spacing and case)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sandboxes.erp.suiteql import normal_form, parse
from sandboxes.erp.suiteql_answers import Answers
from sandboxes.erp.suiteql_engine import DictRow, Table, evaluate, execute

LINE_COLUMNS = ("schedule", "line", "amount")


def line(schedule: int, number: int, amount: str | None) -> DictRow:
    value = None if amount is None else Decimal(amount)
    return DictRow({"schedule": schedule, "line": number, "amount": value})


# In (schedule, line) order, as a sublist table keeps them.
LINES = [
    line(schedule, number, None if (schedule + number) % 5 == 0 else str((schedule * 7) % 11))
    for schedule in range(1, 31)
    for number in range(1, 1 + schedule % 4)
]


class Source:
    """One table of lines, counting how often it is asked for (once per evaluation)."""

    def __init__(self) -> None:
        self.generation = 0
        self.asked = 0
        self.rows = list(LINES)

    def table(self, name: str) -> Table:
        if name != "lines":
            raise KeyError(name)
        self.asked += 1
        return Table("lines", LINE_COLUMNS, self.rows, ("schedule", "line"))

    def write(self, row: DictRow) -> None:
        self.rows.append(row)
        self.generation += 1


def every_page(answers: Answers, text: str, limit: int) -> list[dict[str, Any]]:
    rows, offset = [], 0
    while True:
        page, total = answers.page(text, offset, limit)
        rows += page
        offset += limit
        if offset >= total:
            return rows


QUERIES = [
    "SELECT schedule, line, amount FROM lines ORDER BY schedule, line",
    "SELECT schedule, line FROM lines ORDER BY schedule",
    "SELECT schedule, line, amount FROM lines ORDER BY amount DESC, schedule, line DESC",
    "SELECT schedule, line, amount FROM lines ORDER BY amount",
    "SELECT line AS schedule, schedule AS line FROM lines ORDER BY schedule, line",
    "SELECT * FROM lines WHERE amount > 3 ORDER BY line, schedule",
    "SELECT DISTINCT amount FROM lines ORDER BY amount DESC",
    "SELECT schedule, SUM(amount) AS total FROM lines GROUP BY schedule ORDER BY total, schedule",
    "SELECT schedule, line FROM lines",
]


@pytest.mark.parametrize("text", QUERIES)
@pytest.mark.parametrize("limit", [1, 3, 7, 1000])
def test_paging_a_kept_answer_gives_every_row_once_in_order(text: str, limit: int) -> None:
    source = Source()
    expected = execute(parse(text), source.table).rows
    assert every_page(Answers(source), text, limit) == expected


@pytest.mark.parametrize("text", QUERIES)
def test_an_answer_pages_as_one_off_queries_do(text: str) -> None:
    source = Source()
    answer = evaluate(parse(text), source.table)
    for offset, limit in [(0, 1), (0, 5), (40, 3), (3, 2), (0, None), (10, None), (99, 5)]:
        one_off = execute(parse(text), source.table, offset=offset, limit=limit)
        assert answer.page(offset, limit) == one_off.rows
        assert answer.total == one_off.total


def test_a_table_in_order_is_not_sorted_again_for_a_leading_part_of_that_order() -> None:
    # A table that claims an order it does not have shows whether it was sorted.
    rows = [line(2, 1, "1"), line(1, 2, "2"), line(1, 1, "3")]
    tables = {"lines": Table("lines", LINE_COLUMNS, rows, ("schedule", "line"))}.__getitem__

    def schedules(text: str) -> list[tuple[int, int]]:
        return [(r["schedule"], r["line"]) for r in execute(parse(text), tables).rows]

    as_stored = [(2, 1), (1, 2), (1, 1)]
    assert schedules("SELECT schedule, line FROM lines ORDER BY schedule, line") == as_stored
    assert schedules("SELECT schedule, line FROM lines ORDER BY schedule") == as_stored
    assert schedules("SELECT schedule, line FROM lines ORDER BY line") == [(2, 1), (1, 1), (1, 2)]
    assert schedules("SELECT schedule, line FROM lines ORDER BY schedule DESC") == as_stored
    assert schedules("SELECT schedule, line FROM lines ORDER BY schedule, line DESC") == [
        (1, 2),
        (1, 1),
        (2, 1),
    ]
    renamed = "SELECT line AS schedule, schedule AS line FROM lines ORDER BY schedule"
    assert [r["schedule"] for r in execute(parse(renamed), tables).rows] == [1, 1, 2]


def test_the_pages_of_one_query_evaluate_it_once() -> None:
    source, text = Source(), QUERIES[2]
    answers = Answers(source)
    every_page(answers, text, limit=4)
    assert source.asked == 1
    assert len(answers) == 1


def test_an_answer_with_no_rows_after_the_page_is_not_kept() -> None:
    answers = Answers(Source())
    _, total = answers.page(QUERIES[0], 0, 1000)
    assert total == len(LINES)
    assert len(answers) == 0


def test_a_write_drops_kept_answers_and_later_pages_show_it() -> None:
    source, text = Source(), QUERIES[0]
    answers = Answers(source)
    first, total = answers.page(text, 0, 10)
    source.write(line(99, 1, "5"))
    rest, new_total = answers.page(text, 10, 1000)
    assert new_total == total + 1
    assert first + rest == execute(parse(text), source.table).rows
    assert rest[-1] == {"schedule": 99, "line": 1, "amount": Decimal(5)}
    assert source.asked == 3  # twice by Answers, once by the check


def test_different_queries_keep_their_own_answers() -> None:
    source = Source()
    answers = Answers(source)
    texts = [
        "SELECT schedule, line FROM lines WHERE schedule IN (3, 7) ORDER BY schedule, line",
        "SELECT schedule, line FROM lines WHERE schedule IN (3, 8) ORDER BY schedule, line",
        "SELECT schedule, line FROM lines WHERE schedule IN (3, 7) ORDER BY line, schedule",
    ]
    expected = [execute(parse(text), source.table).rows for text in texts]
    assert len({str(rows) for rows in expected}) == len(texts)
    source.asked = 0
    firsts = [answers.page(text, 0, 1)[0] for text in texts]
    assert len(answers) == len(texts)
    for text, first, rows in zip(texts, firsts, expected, strict=True):
        assert first + every_page(answers, text, limit=1)[1:] == rows
    assert source.asked == len(texts)


def test_the_least_recently_used_answer_goes_first_past_capacity() -> None:
    source = Source()
    answers = Answers(source, capacity=2)
    texts = [f"SELECT schedule FROM lines WHERE line = {n} ORDER BY schedule" for n in (1, 2, 3)]
    answers.page(texts[0], 0, 1)
    answers.page(texts[1], 0, 1)
    answers.page(texts[0], 1, 1)  # used again: now the most recent
    answers.page(texts[2], 0, 1)  # drops texts[1]
    assert source.asked == 3
    answers.page(texts[0], 2, 1)
    assert source.asked == 3
    answers.page(texts[1], 1, 1)
    assert source.asked == 4


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            "SELECT id, BUILTIN.DF(terms) AS t FROM customer WHERE id IN (1,2) ORDER BY id",
            "select ID , builtin.df( Terms ) as T\nfrom Customer where id in ( 1,2 ) order by Id;",
        ),
        (
            "SELECT id FROM customer WHERE modified > TO_TIMESTAMP('2024-05-01 13:45:00.250')",
            "SELECT id FROM customer WHERE modified>to_timestamp( '2024-05-01 13:45:00.250' )",
        ),
        ("SELECT id FROM customer WHERE amount > -1", "SELECT id FROM customer WHERE amount>- 1"),
    ],
)
def test_texts_differing_in_spacing_and_case_are_one_query(a: str, b: str) -> None:
    assert normal_form(a) == normal_form(b)
    assert parse(a) == parse(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            "SELECT id FROM customer WHERE name = 'Apex'",
            "SELECT id FROM customer WHERE name = 'APEX'",
        ),
        (
            "SELECT id FROM customer WHERE name = 'a b'",
            "SELECT id FROM customer WHERE name = 'a  b'",
        ),
        (
            "SELECT id FROM customer WHERE name IN ('a', 'b')",
            "SELECT id FROM customer WHERE name IN ('a'', ''b')",
        ),
        ("SELECT id FROM customer ORDER BY id", "SELECT id FROM customer ORDER BY id DESC"),
        ("SELECT id, name FROM customer", "SELECT id name FROM customer"),
    ],
)
def test_texts_with_different_tokens_are_different_queries(a: str, b: str) -> None:
    assert normal_form(a) != normal_form(b)
