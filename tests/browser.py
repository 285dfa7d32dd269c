"""A headless Chromium page for browser tests: the system's own Chromium, driven by
Playwright (its downloaded browsers are never used), with nothing reaching beyond
loopback. Import `browser_page` into a test module's namespace (or a conftest) to use it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

CHROMIUM = os.environ.get("PSGRAPH_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page() -> Iterator[object]:
    """A fresh sync Playwright `Page` in headless Chromium; skipped without Chromium."""
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (install Debian's chromium package)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(60_000)
            yield page
            context.close()
        finally:
            browser.close()
