"""The demo's ports follow one number, its SQLite store starts empty on every start, and
it prints its URLs once the gateway watches every source."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from gateway.demo_store import start_fresh
from gateway.settings import SandboxConfig, load_settings
from sandboxes.harness.processes import DEMO_CONFIG


def test_the_default_port_base_keeps_the_demo_on_8000_and_8101_to_8106() -> None:
    settings = load_settings(DEMO_CONFIG).at_sandboxes()
    assert settings.port == 8000
    assert settings.sandbox.ports == {
        "crm": 8101,
        "psa": 8102,
        "hcm": 8103,
        "erp": 8104,
        "time": 8105,
        "idp": 8106,
    }
    assert settings.sources["erp"].base_url == "http://127.0.0.1:8104"
    assert settings.auth.issuer == "http://127.0.0.1:8106"


def test_one_port_base_moves_the_gateway_the_sandboxes_and_the_sources_together() -> None:
    settings = load_settings(DEMO_CONFIG).at_sandboxes(9000)
    assert settings.port == 9000
    assert sorted(settings.sandbox.ports.values()) == [9101, 9102, 9103, 9104, 9105, 9106]
    assert {name: s.base_url for name, s in settings.sources.items()} == {
        name: f"http://127.0.0.1:{port}"
        for name, port in settings.sandbox.ports.items()
        if name != "idp"
    }
    assert settings.auth.issuer == "http://127.0.0.1:9106"  # the demo's issuer moves too


def test_a_config_still_listing_per_sandbox_ports_is_refused() -> None:
    with pytest.raises(ValidationError, match="ports"):
        SandboxConfig.model_validate({"ports": {"crm": 8101}})


def test_a_fresh_start_deletes_the_sqlite_store_and_its_journals(tmp_path: Path) -> None:
    store = tmp_path / "var" / "demo.db"
    store.parent.mkdir()
    for name in ("demo.db", "demo.db-wal", "demo.db-shm", "other.db"):
        (store.parent / name).write_text("old")

    assert start_fresh(f"sqlite+aiosqlite:///{store}") == store

    assert sorted(p.name for p in store.parent.iterdir()) == ["other.db"]


def test_a_fresh_start_leaves_a_database_server_and_memory_alone(tmp_path: Path) -> None:
    assert start_fresh("postgresql+asyncpg://127.0.0.1/test") is None
    assert start_fresh("sqlite+aiosqlite:///:memory:") is None
    missing = tmp_path / "new" / "demo.db"
    assert start_fresh(f"sqlite+aiosqlite:///{missing}") == missing
    assert missing.parent.is_dir()


def test_the_demo_prints_its_urls_only_once_the_gateway_watches_every_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gateway import cli

    answers = iter([None, {"captureWatching": False}, {"captureWatching": True}])
    asked: list[str] = []
    announced = threading.Event()

    def healthz(url: str, timeout: float) -> httpx.Response:
        asked.append(url)
        answer = next(answers)
        if answer is None:
            raise httpx.ConnectError("not listening yet")
        assert not announced.is_set()
        return httpx.Response(200, json=answer)

    monkeypatch.setattr(cli.httpx, "get", healthz)
    monkeypatch.setattr(cli.time, "sleep", lambda _s: None)
    settings = load_settings(DEMO_CONFIG).at_sandboxes(9000)

    cli._announce_when_watching(settings, announced.set)

    assert announced.wait(5)
    assert asked == ["http://127.0.0.1:9000/healthz"] * 3
