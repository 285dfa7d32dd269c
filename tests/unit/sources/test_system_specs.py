"""Each system declared once: the registry's five specs and their vendors' id formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from schema.common import SourceSystem as GraphQLSourceSystem
from sources import registry
from sources.config import SourceSettings
from sources.records import SourceSystem
from sources.system import InvalidSourceIdError

ESCAPES = [".", "..", "a/b", "%2F", "1/..", "1?x=1", "1#x", "1 ", " 1", "", "x" * 10_000]

VALID = {
    "crm": ["0015g00000ABCDE", "0015g00000ABCDEAAA"],
    "psa": ["1000001", "7"],
    "hcm": ["0123456789abcdef0123456789abcdef"],
    "erp": ["101", "600001"],
    "time": ["900000001"],
}
# Right charset, wrong shape: refused, not normalised into a valid one.
WRONG_SHAPE = {
    "crm": ["0015g00000ABCD", "0015g00000ABCDEAA", "0015g00000-BCDE"],
    "psa": ["12a", "-1", "1.0"],
    "hcm": ["0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef", "g" * 32],
    "erp": ["eid:1", "1e3"],
    "time": ["+1", "0x10"],
}


def test_the_five_built_in_systems_are_declared_in_their_packages() -> None:
    assert registry.SYSTEMS == ("crm", "psa", "hcm", "erp", "time")
    assert [spec.package for spec in registry.BUILT_IN] == list(registry.BUILT_IN_PACKAGES)


@pytest.mark.parametrize("name", registry.SYSTEMS)
def test_a_connector_s_limits_are_its_spec_s(name: str) -> None:
    spec = registry.system(name)
    assert registry.connector_class(name).batch_limit <= spec.batch_max


@pytest.mark.parametrize("name", registry.SYSTEMS)
def test_vendor_shaped_ids_pass_unchanged(name: str) -> None:
    spec = registry.system(name)
    for native in VALID[name]:
        assert spec.check_id(native) == native


@pytest.mark.parametrize("name", registry.SYSTEMS)
@pytest.mark.parametrize("native", [*ESCAPES, "\u0661"], ids=repr)
def test_ids_that_could_leave_their_url_segment_are_refused(name: str, native: str) -> None:
    with pytest.raises(InvalidSourceIdError):
        registry.system(name).check_id(native)


@pytest.mark.parametrize("name", registry.SYSTEMS)
def test_ids_of_the_wrong_shape_are_refused(name: str) -> None:
    spec = registry.system(name)
    assert [native for native in WRONG_SHAPE[name] if spec.is_valid_id(native)] == []


def test_an_unknown_system_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="unknown system 'billing'"):
        registry.system("billing")


def test_a_package_must_declare_the_system_it_is_named_for() -> None:
    with pytest.raises(ValueError, match="declares system CRM, not 'billing'"):
        registry.system("billing", "sources.crm")


def test_the_system_enums_name_exactly_the_declared_systems() -> None:
    # The canonical and GraphQL enums stay static types (mypy and the schema contract
    # need them); this keeps them from drifting from the declarations.
    declared = [spec.name for spec in registry.BUILT_IN]
    assert [system.value for system in SourceSystem] == declared
    assert [system.value for system in GraphQLSourceSystem] == declared


@pytest.mark.usefixtures("isolated_systems")
def test_a_system_psgraph_does_not_ship_is_found_through_the_package_its_settings_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "acme_billing"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from sources.system import SystemSpec\n"
        "SYSTEM = SystemSpec(name='BILLING', package=__name__, page_max=50, batch_max=25,\n"
        "                    id_format=r'B[0-9]{6}', auth_kind='none',\n"
        "                    default_poll_interval={'bill': 30.0})\n"
    )
    (package / "connector.py").write_text(
        "class BillingConnector:\n"
        "    batch_limit = 25\n"
        "    def __init__(self, settings):\n"
        "        self.settings = settings\n"
        "CONNECTOR = BillingConnector\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = SourceSettings(base_url="http://billing.test", package="acme_billing")

    spec = registry.system("billing", settings.package)
    connector = registry.make_connector("billing", settings)

    assert (spec.name, spec.page_max, spec.check_id("B000042")) == ("BILLING", 50, "B000042")
    assert not spec.is_valid_id("..")
    assert type(connector).__name__ == "BillingConnector"
    assert connector.settings is settings  # type: ignore[attr-defined]
    assert SourceSystem("BILLING").value == "BILLING"  # declared with its package
