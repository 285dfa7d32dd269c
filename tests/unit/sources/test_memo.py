"""A record memo makes a record once per distinct vendor object, and never a stale one."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from sources.memo import RecordMemo, exact_digest


class Maker:
    def __init__(self) -> None:
        self.made: list[Any] = []

    def __call__(self, body: Any) -> tuple[Any, ...]:
        if not isinstance(body, dict):
            raise TypeError("not an object")
        self.made.append(body)
        return tuple(sorted(body.items()))


def test_an_object_seen_before_gives_back_the_record_made_then() -> None:
    make = Maker()
    memo = RecordMemo(make, size=10)

    first = memo({"id": 1, "hours": 2.0})
    again = memo({"id": 1, "hours": 2.0})

    assert again is first
    assert len(make.made) == 1


def test_any_change_to_an_object_makes_a_new_record() -> None:
    make = Maker()
    memo = RecordMemo(make, size=10)

    memo({"id": 1, "hours": 2.0, "notes": None})
    changed = memo({"id": 1, "hours": 2.0, "notes": "billed"})

    assert dict(changed)["notes"] == "billed"
    assert len(make.made) == 2


def test_it_keeps_at_most_size_records_dropping_the_oldest() -> None:
    make = Maker()
    memo = RecordMemo(make, size=2)

    for n in (1, 2, 3):
        memo({"id": n})
    memo({"id": 3})
    memo({"id": 1})

    assert len(memo) == 2
    assert [body["id"] for body in make.made] == [1, 2, 3, 1]


def test_what_cannot_be_made_is_not_remembered_and_says_why() -> None:
    memo = RecordMemo(Maker(), size=2)

    with pytest.raises(TypeError, match="not an object"):
        memo(["id", 1])
    assert len(memo) == 0


def test_an_exact_decimal_and_a_string_spelling_it_are_different_objects() -> None:
    make = Maker()
    memo = RecordMemo(make, size=10, key=exact_digest)

    number = memo({"amount": Decimal("1.10")})
    text = memo({"amount": "1.10"})
    again = memo({"amount": Decimal("1.10")})

    assert number is not text
    assert again is number
    assert len(make.made) == 2


def test_an_object_the_digest_cannot_be_taken_of_is_made_every_time() -> None:
    make = Maker()
    memo = RecordMemo(make, size=10, key=exact_digest)

    memo({"id": 2**70})
    memo({"id": 2**70})

    assert len(make.made) == 2
    assert len(memo) == 0


def test_an_object_kept_as_the_vendors_bytes_is_keyed_by_them_byte_for_byte() -> None:
    make = Maker()
    memo = RecordMemo(lambda raw: make(orjson.loads(raw)), size=10, key=bytes)

    first = memo(b'{"id": 1, "hours": 2.0}')
    again = memo(b'{"id": 1, "hours": 2.0}')
    spaced = memo(b'{"id": 1,  "hours": 2.0}')

    assert again is first
    assert spaced == first
    assert spaced is not first
    assert len(make.made) == 2
