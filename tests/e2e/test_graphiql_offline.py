"""GraphiQL at /graphql renders and runs a query in a browser with no network: its
scripts and styles come from the installed package, not a CDN. The query runs with a token
pasted into GraphiQL's Headers tab, as the README tells a newcomer to do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from gateway.settings import Settings
from sandboxes.harness.identity import Identity
from sandboxes.harness.served import RunningGateway, serve, settings_for
from sandboxes.runner import SandboxCluster
from tests.browser import browser_page  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow

QUERY = "{ projects(first: 1) { totalCount } }"


@pytest.fixture
def gateway(
    demo_settings: Settings, sandboxes: SandboxCluster, tmp_path: Path
) -> Iterator[RunningGateway]:
    running = serve(settings_for(demo_settings, sandboxes, tmp_path / "store.db"))
    try:
        yield running
    finally:
        running.stop()


def test_graphiql_renders_offline_and_runs_a_query_by_click(
    gateway: RunningGateway,
    browser_page: tuple[Page, list[str]],  # noqa: F811
    identity: Identity,
    tmp_path: Path,
) -> None:
    page, blocked = browser_page
    page.goto(gateway.graphql, wait_until="load", timeout=60_000)
    editor = page.locator(".graphiql-query-editor .CodeMirror")
    expect(editor).to_be_visible(timeout=60_000)

    # Replace the example query through CodeMirror's own API, as typing would.
    page.evaluate(
        "query => document.querySelector('.graphiql-query-editor .CodeMirror')"
        ".CodeMirror.setValue(query)",
        QUERY,
    )
    page.locator(".graphiql-editor-tools").get_by_role("button", name="Headers").click()
    headers = page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror")
    headers.click()
    page.keyboard.insert_text(json.dumps(identity.headers_for("admin")))
    # GraphiQL takes editor changes after a debounce, and persists the headers it took.
    page.wait_for_function(
        "() => Object.values(localStorage).some(value => value.includes('Bearer'))",
        timeout=10_000,
    )
    page.locator("button.graphiql-execute-button").click()
    result = page.locator(".graphiql-response .CodeMirror")
    expect(result).to_contain_text('"totalCount"', timeout=60_000)
    page.screenshot(path=str(tmp_path / "graphiql.png"))

    assert '"errors"' not in result.inner_text()
    assert blocked == [], f"GraphiQL reached off the machine for {blocked}"
