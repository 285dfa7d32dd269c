"""Reading Kantata's envelope: `results` is the answer and its order; maps hold records."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from sources.psa.envelope import MalformedEnvelopeError
from sources.psa.envelope import parse_envelope as parse_bytes


def parse_envelope(body: Any) -> Any:
    return parse_bytes(orjson.dumps(body))


DOCUMENTED = {
    "count": 2,
    "results": [{"key": "workspaces", "id": "11"}, {"key": "workspaces", "id": "10"}],
    "workspaces": {
        "10": {"id": "10", "title": "ten", "participant_ids": ["2"]},
        "11": {"id": "11", "title": "eleven"},
    },
    "users": {"2": {"id": "2", "full_name": "bob"}},
    "meta": {"count": 2, "page_count": 3, "page_number": 1, "page_size": 20},
}


def test_rows_follow_the_results_order_not_the_map_order():
    env = parse_envelope(DOCUMENTED)
    assert [row["title"] for row in env.rows("workspaces")] == ["eleven", "ten"]


def test_included_records_are_found_by_type_and_id_but_are_not_the_answer():
    env = parse_envelope(DOCUMENTED)
    assert env.lookup("users", 2) == {"id": "2", "full_name": "bob"}
    assert env.lookup("users", None) is None
    assert env.rows("users") == []


def test_an_association_of_the_same_type_is_not_part_of_the_answer():
    env = parse_envelope(
        {
            "count": 1,
            "results": [{"key": "stories", "id": "1"}],
            "stories": {"1": {"id": "1"}, "2": {"id": "2", "parent_id": "1"}},
        }
    )
    assert env.rows("stories") == [{"id": "1"}]


def test_meta_tells_whether_more_pages_follow():
    env = parse_envelope(DOCUMENTED)
    assert (env.count, env.page_number, env.page_count, env.has_more) == (2, 1, 3, True)
    last = parse_envelope({**DOCUMENTED, "meta": {"count": 2, "page_count": 3, "page_number": 3}})
    assert not last.has_more


def test_an_envelope_without_meta_is_one_page_counted_by_count():
    env = parse_envelope({"count": 0, "results": []})
    assert (env.count, env.has_more) == (0, False)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([], id="a-list"),
        pytest.param(None, id="null"),
        pytest.param({"count": 1}, id="no-results"),
        pytest.param({"results": {"key": "workspaces"}}, id="results-not-a-list"),
        pytest.param({"results": [{"id": "1"}]}, id="reference-without-key"),
        pytest.param(
            {"results": [{"key": "workspaces", "id": "1"}], "workspaces": {}},
            id="result-missing-from-map",
        ),
        pytest.param(
            {"results": [{"key": "workspaces", "id": "1"}], "workspaces": {"1": "text"}},
            id="record-not-an-object",
        ),
        pytest.param({"results": [], "meta": []}, id="meta-not-an-object"),
        pytest.param({"results": [], "meta": {"page_count": "2"}}, id="page-count-text"),
        pytest.param({"results": [], "count": True}, id="count-boolean"),
    ],
)
def test_a_garbled_envelope_is_refused(body):
    with pytest.raises(MalformedEnvelopeError):
        parse_envelope(body)


def test_the_answers_records_are_kept_as_the_vendors_own_bytes():
    env = parse_bytes(
        b'{"results": [{"key": "workspaces", "id": "10"}],'
        b' "workspaces": {"10": {"id": "10",  "title": "ten"}}}'
    )
    assert [(i, bytes(raw)) for i, raw in env.answer("workspaces")] == [
        ("10", b'{"id": "10",  "title": "ten"}')
    ]


def test_a_top_level_value_that_is_not_a_map_is_no_map_of_records():
    env = parse_envelope({**DOCUMENTED, "warnings": ["slow"], "users": None})
    assert env.lookup("users", 2) is None
    assert [row["title"] for row in env.rows("workspaces")] == ["eleven", "ten"]


@pytest.mark.parametrize(
    "content", [b"<html>maintenance</html>", b"", b'{"results": [', b"[]"], ids=str
)
def test_a_body_that_is_not_a_json_object_is_refused(content: bytes):
    with pytest.raises(MalformedEnvelopeError, match=r"not JSON|not an object"):
        parse_bytes(content)
