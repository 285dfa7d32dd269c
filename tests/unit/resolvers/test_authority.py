from __future__ import annotations

import pytest

from resolvers.authority import Authority, Conflict
from sources.records import SourceSystem

CRM, PSA, HCM, ERP, TIME = (
    SourceSystem.CRM,
    SourceSystem.PSA,
    SourceSystem.HCM,
    SourceSystem.ERP,
    SourceSystem.TIME,
)
DEMO = {
    "client": {"*": "CRM", "paymentTerms": "ERP", "creditStatus": "ERP"},
    "project": {"*": "PSA", "financeCode": "ERP"},
    "resource": {"*": "HCM"},
}


def test_fields_not_listed_belong_to_the_entitys_base_system():
    authority = Authority(DEMO)

    assert authority.owner("client", "name") is CRM
    assert authority.owner("client", "paymentTerms") is ERP
    assert authority.owner("project", "financeCode") is ERP
    assert authority.owner("resource", "email") is HCM


def test_without_configuration_erp_fields_still_come_from_the_erp():
    assert Authority({}).owner("client", "creditStatus") is ERP


def test_the_finance_code_may_be_given_to_psa():
    assert Authority({"project": {"financeCode": "psa"}}).owner("project", "financeCode") is PSA


@pytest.mark.parametrize(
    ("config", "message"),
    [
        pytest.param({"planet": {"*": "CRM"}}, "unknown entity 'planet'", id="entity"),
        pytest.param({"client": {"*": "SAP"}}, "unknown system 'SAP'", id="system"),
        pytest.param({"client": {"name": "ERP"}}, "client.name: cannot be owned by ERP", id="name"),
        pytest.param({"client": {"paymentTerms": "CRM"}}, "choose ERP", id="terms"),
        pytest.param({"resource": {"*": "TIME"}}, "resource.*: cannot be owned by TIME", id="base"),
    ],
)
def test_an_owner_the_gateway_cannot_serve_is_refused_at_start_up(config, message):
    with pytest.raises(ValueError, match=message):
        Authority(config)


def test_a_disagreement_names_the_owner_its_value_and_the_other_systems_value():
    conflicts = Authority(DEMO).conflicts("client", "name", {CRM: "Acme", ERP: "Acme Ltd"})

    assert conflicts == [Conflict("name", CRM, "Acme", ERP, "Acme Ltd")]


def test_case_and_surrounding_space_are_not_disagreements():
    assert Authority(DEMO).conflicts("client", "name", {CRM: "Acme ", ERP: "ACME"}) == []


def test_a_missing_value_counts_only_for_identity_links():
    authority = Authority(DEMO)
    values = {ERP: None, PSA: "J-9"}

    assert authority.conflicts("project", "financeCode", values) == []
    assert authority.conflicts("project", "financeCode", values, missing_disagrees=True) == [
        Conflict("financeCode", ERP, None, PSA, "J-9")
    ]
