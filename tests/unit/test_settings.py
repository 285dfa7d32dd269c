"""Settings: a YAML file, under PSGRAPH_* environment overrides, credentials from the env."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import load_settings

CONFIG = """
port: 8000
sources:
  erp:
    base_url: https://1234567.suitetalk.api.netsuite.com
    credentials_env: {token: NETSUITE_TOKEN, account_id: NETSUITE_ACCOUNT}
    timeouts: {read: 3.5}
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "psgraph.yaml"
    path.write_text(CONFIG)
    return path


def test_the_file_gives_typed_values_and_defaults(config_file: Path) -> None:
    settings = load_settings(config_file)
    erp = settings.source("erp")
    assert erp.timeouts.read == 3.5
    assert erp.timeouts.connect == 2.0
    assert erp.retry.attempts == 3


def test_environment_overrides_the_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSGRAPH_PORT", "9100")
    assert load_settings(config_file).port == 9100


def test_credentials_come_from_the_named_environment_variables(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETSUITE_TOKEN", "s3cret")
    monkeypatch.setenv("NETSUITE_ACCOUNT", "1234567")
    credentials = load_settings(config_file).source("erp").credentials
    assert credentials.token is not None
    assert credentials.token.get_secret_value() == "s3cret"
    assert credentials.account_id == "1234567"
    assert "s3cret" not in repr(credentials)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no config file"):
        load_settings(tmp_path / "absent.yaml")


def test_unknown_settings_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("prot: 8000\n")
    with pytest.raises(ValueError, match="prot"):
        load_settings(path)


def test_the_shipped_configs_load() -> None:
    root = Path(__file__).parent.parent.parent / "config"
    demo = load_settings(root / "demo.yaml")
    assert set(demo.sources) == {"crm", "psa", "hcm", "erp", "time"}
    vendors = load_settings(root / "example-vendors.yaml")
    assert all(s.base_url.startswith("https://") for s in vendors.sources.values())
