"""The PSA sandbox's table keeps its id order between lists, and follows every add and
replacement of a row."""

from __future__ import annotations

from sandboxes.psa.query import select
from sandboxes.psa.tables import empty_tables


def workspace(row_id: str, *, archived: bool = False, title: str = "") -> dict[str, object]:
    return {"id": row_id, "archived": archived, "title": title or f"w{row_id}"}


def test_rows_come_in_id_order_after_adds_and_replacements() -> None:
    table = empty_tables()["workspaces"]
    for row_id in ("10", "9", "x1"):
        table.rows[row_id] = workspace(row_id)
    assert [r["id"] for r in table.ordered()] == ["9", "10", "x1"]
    table.rows["2"] = workspace("2")
    assert [r["id"] for r in table.ordered()] == ["2", "9", "10", "x1"]
    table.rows["9"] = workspace("9", title="renamed")
    assert [r["title"] for r in table.ordered()] == ["w2", "renamed", "w10", "wx1"]


def test_a_list_without_filters_still_leaves_archived_rows_out_unless_asked() -> None:
    table = empty_tables()["workspaces"]
    table.rows["1"] = workspace("1")
    table.rows["2"] = workspace("2", archived=True)
    assert [r["id"] for r in select(table, {})] == ["1"]
    assert [r["id"] for r in select(table, {"include_archived": "true"})] == ["1", "2"]
