"""The /visibility page in a real headless browser: a user pastes a token into it; it then
renders the KPIs, the queue with the seeded exceptions, integration health, and updates by
itself, without a reload, when a defect is made in a sandbox."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from sandboxes.harness.identity import Identity
from sandboxes.world.model import World
from tests.browser import browser_page  # noqa: F401  (the fixture)
from tests.conftest import reset
from tests.e2e.visibility.conftest import Vendor

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.usefixtures("seeded_world_after"),
]
ERP_RECORD = "/services/rest/record/v1"


def _open_by_kind(graphql: str, headers: dict[str, str]) -> Counter[str]:
    """What the queue holds open or acknowledged, by kind: what the page lists."""
    query = (
        "query($s: ExceptionStatus) "
        "{ exceptions(first: 1000, status: $s) { edges { node { kind } } } }"
    )
    kinds: Counter[str] = Counter()
    for status in ("OPEN", "ACKNOWLEDGED"):
        found = httpx.post(
            graphql, json={"query": query, "variables": {"s": status}}, headers=headers, timeout=60
        ).json()
        kinds.update(edge["node"]["kind"] for edge in found["data"]["exceptions"]["edges"])
    return kinds


def _kinds_on(page: Any) -> Counter[str]:
    # One read of the whole column: the page redraws the table as changes arrive, and a
    # row-by-row read could wait for a row that a redraw has just taken away.
    return Counter(page.locator("#exceptions tbody tr td:nth-child(2)").all_text_contents())


def test_the_page_shows_the_queue_and_follows_a_defect_made_in_the_erp(
    browser_page: Any,  # noqa: F811
    running_gateway,
    vendors: dict[str, Vendor],
    world: World,
    sandboxes,
    identity: Identity,
    tmp_path: Path,
):
    reset(sandboxes, "erp")
    admin = identity.token_for("admin")  # the module's gateway has finished its first scan
    page, blocked = browser_page
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url) if not request.url.startswith(running_gateway.url) else None
        ),
    )
    page.goto(f"{running_gateway.url}/visibility")

    # No token yet: the page asks for one; a bad one is refused, and the page says so.
    # (waits by selector and `expect`: the page's CSP forbids the eval wait_for_function uses)
    expect(page.locator("#live")).to_have_text("no token")
    page.fill("#token", "not-a-token")
    page.click("#token-save")
    expect(page.locator("#message")).to_contain_text("401 UNAUTHENTICATED")
    page.fill("#token", admin)
    page.click("#token-save")

    page.wait_for_selector("#exceptions tbody tr[data-kind='INVOICE_BLOCKED']")
    page.wait_for_selector("#kpis .kpi")
    page.wait_for_selector("#health tbody tr")
    expect(page.locator("#live")).to_have_text("live", timeout=60_000)
    held = page.locator("#exceptions tbody tr[data-kind='INVOICE_BLOCKED']").count()
    assert held == len(world.defects.blocked_invoices)
    # Every kind the queue holds is on the page, as many rows of each as the queue has.
    queued = _open_by_kind(running_gateway.graphql, {"Authorization": f"Bearer {admin}"})
    assert len(queued) > 1
    deadline = time.monotonic() + 30
    while (shown := _kinds_on(page)) != queued and time.monotonic() < deadline:
        time.sleep(0.5)  # a scan may land between the two reads: the page follows it
    assert shown == queued
    health = page.locator("#health tbody tr td:first-child").all_text_contents()
    assert sorted(health) == ["CRM", "ERP", "HCM", "PSA", "TIME"]

    invoice = next(i for i in world.invoices if i.status == "POSTED")
    vendors["erp"].call(
        "PATCH",
        f"{ERP_RECORD}/invoice/{invoice.erp_id}",
        json={"custbody_blocked_reason": "PO_MISSING"},
    )
    expect(page.locator("#exceptions tbody tr[data-kind='INVOICE_BLOCKED']")).to_have_count(
        held + 1, timeout=90_000
    )
    ticker = page.locator("#ticker li").all_text_contents()
    assert any("INVOICE_BLOCKED" in line for line in ticker), ticker
    assert page.locator("#exceptions tbody tr", has_text="PO_MISSING").count() == 1

    # Released in the ERP itself: the row leaves the page by itself.
    vendors["erp"].call(
        "PATCH", f"{ERP_RECORD}/invoice/{invoice.erp_id}", json={"custbody_blocked_reason": ""}
    )
    expect(page.locator("#exceptions tbody tr[data-kind='INVOICE_BLOCKED']")).to_have_count(
        held, timeout=90_000
    )

    page.screenshot(path=str(tmp_path / "visibility.png"), full_page=True)
    assert (tmp_path / "visibility.png").stat().st_size > 0
    assert outside == [], "the page reaches nothing beyond the gateway"
    assert blocked == [], "the page asked for nothing off this machine"
    # The pasted token is kept: the page opens connected again.
    page.reload()
    expect(page.locator("#live")).to_have_text("live", timeout=60_000)
    assert page.input_value("#token") == admin
