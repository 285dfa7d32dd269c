"""Canonical filters in Kantata's spelling; long id lists split at the batch limit."""

from __future__ import annotations

import pytest

from sources.psa.endpoints import endpoint


def test_an_id_list_filter_is_one_comma_list():
    queries = endpoint("milestone").queries({"project_id": ["1", "2", "3"]}, chunk_size=200)
    assert queries == [{"story_type": "milestone", "include": "workspace", "workspace_id": "1,2,3"}]


def test_an_id_list_past_the_batch_limit_is_split_into_chunks():
    ids = [str(i) for i in range(450)]

    queries = endpoint("assignment").queries({"project_id": ids, "user_id": "9"}, chunk_size=200)

    assert [len(q["workspace_id"].split(",")) for q in queries] == [200, 200, 50]
    assert all(q["user_id"] == "9" for q in queries)


def test_an_empty_id_list_matches_nothing_without_asking():
    assert endpoint("project").queries({"crm_account_id": []}, chunk_size=200) == []


def test_project_filters_use_kantata_names_and_status_keys():
    (query,) = endpoint("project").queries(
        {"status": ["ACTIVE", "ON_HOLD"], "code": "PRJ-1", "practice": "Cloud"}, chunk_size=200
    )
    assert query == {
        "include_archived": "true",
        "status": "310,320",
        "project_code": "PRJ-1",
        "practice": "Cloud",
    }


@pytest.mark.parametrize(
    ("entity", "filters", "message"),
    [
        pytest.param("project", {"owner": "x"}, "cannot be filtered", id="unknown-filter"),
        pytest.param("project", {"status": "DONE"}, "unknown project status", id="bad-status"),
        pytest.param("project", {"search": ["a", "b"]}, "single text", id="search-list"),
        pytest.param("widget", {}, "no entity", id="unknown-entity"),
        pytest.param(
            "assignment",
            {"project_id": [str(i) for i in range(201)], "user_id": [str(i) for i in range(201)]},
            "at most one",
            id="two-long-lists",
        ),
    ],
)
def test_bad_filters_are_refused(entity, filters, message):
    with pytest.raises(ValueError, match=message):
        endpoint(entity).queries(filters, chunk_size=200)


def test_change_scans_ask_for_every_event_type_of_the_subject():
    assert endpoint("milestone").event_types() == "story:created,story:updated,story:deleted"
