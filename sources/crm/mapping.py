"""Between Salesforce sObjects and psgraph's canonical records, both ways.

Reading: which fields each entity selects, and how a JSON record becomes an `Account`,
`Opportunity` or `Contact` (18-char ids, canonical stage codes, a Lightning deep link).
Writing: canonical field names (`stage`, `psa_project_id`, ...) to Salesforce's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from sources.crm import ids
from sources.crm.formats import (
    contract_type_code,
    contract_type_label,
    parse_datetime,
    stage_code,
    stage_label,
)
from sources.errors import SourceDataError
from sources.records import Account, Contact, Opportunity, Record, SourceSystem

Fields = Mapping[str, Any]


@dataclass(frozen=True)
class SObjectMapping:
    sobject: str  # the Salesforce object name
    fields: tuple[str, ...]  # what reads select
    read: Callable[[Fields], dict[str, Any]]  # JSON record -> canonical fields
    record_type: type[Record]
    # canonical field -> (Salesforce field, how its value is written)
    writes: Mapping[str, tuple[str, Callable[[Any], Any]]]

    def record(self, row: Fields, deep_link_root: str) -> Record:
        """The canonical record for one JSON record; SourceDataError when it will not fit."""
        if not isinstance(row, Mapping):
            raise SourceDataError(
                SourceSystem.CRM, f"a {self.sobject} record that is not an object: {row!r:.100}"
            )
        try:
            record_id = ids.to_18(str(row["Id"]))
            modified = row.get("SystemModstamp")
            return self.record_type(
                id=record_id,
                modified_at=parse_datetime(modified) if modified else None,
                url=f"{deep_link_root}/lightning/r/{self.sobject}/{record_id}/view",
                **self.read(row),
            )
        except (KeyError, ValueError, TypeError, ValidationError) as error:
            raise SourceDataError(
                SourceSystem.CRM, f"unreadable {self.sobject} {row.get('Id')!r}: {error}"
            ) from error

    def to_sobject(self, fields: Fields) -> dict[str, Any]:
        """Salesforce's field names and values for canonical ones; ValueError on unknown keys."""
        unknown = sorted(set(fields) - set(self.writes))
        if unknown:
            raise ValueError(f"{self.sobject} has no writable field(s) {', '.join(unknown)}")
        out = {}
        for name, value in fields.items():
            target, convert = self.writes[name]
            out[target] = None if value is None else convert(value)
        return out


def _id(value: Any) -> str:
    return ids.to_18(str(value))


def _amount(value: Any) -> float:
    return float(Decimal(str(value)))


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else date.fromisoformat(value).isoformat()


def _account(row: Fields) -> dict[str, Any]:
    return {
        "name": row["Name"],
        "industry": row.get("Industry"),
        "region": row.get("Region__c"),
        "owner": row.get("Account_Owner__c"),
    }


def _opportunity(row: Fields) -> dict[str, Any]:
    amount = row.get("Amount")
    contract = row.get("Contract_Type__c")
    return {
        "account_id": ids.to_18(row["AccountId"]),
        "name": row["Name"],
        "stage": stage_code(
            row["StageName"], is_closed=row.get("IsClosed"), is_won=row.get("IsWon")
        ),
        "amount": None if amount is None else Decimal(str(amount)),
        "currency": row.get("CurrencyIsoCode") or "USD",
        "close_date": row.get("CloseDate"),
        "practice": row.get("Practice__c"),
        "region": row.get("Region__c"),
        "contract_type": contract_type_code(contract) if contract else None,
        "psa_project_id": row.get("PSA_Project_Id__c"),
    }


def _contact(row: Fields) -> dict[str, Any]:
    return {
        "account_id": ids.to_18(row["AccountId"]),
        "name": row["Name"],
        "email": row.get("Email"),
    }


ACCOUNT = SObjectMapping(
    sobject="Account",
    fields=("Id", "Name", "Industry", "Region__c", "Account_Owner__c", "SystemModstamp"),
    read=_account,
    record_type=Account,
    writes={
        "name": ("Name", str),
        "industry": ("Industry", str),
        "region": ("Region__c", str),
        "owner": ("Account_Owner__c", str),
    },
)

OPPORTUNITY = SObjectMapping(
    sobject="Opportunity",
    fields=(
        "Id",
        "AccountId",
        "Name",
        "StageName",
        "IsClosed",
        "IsWon",
        "Amount",
        "CurrencyIsoCode",
        "CloseDate",
        "Practice__c",
        "Region__c",
        "Contract_Type__c",
        "PSA_Project_Id__c",
        "SystemModstamp",
    ),
    read=_opportunity,
    record_type=Opportunity,
    writes={
        "account_id": ("AccountId", _id),
        "name": ("Name", str),
        "stage": ("StageName", stage_label),
        "amount": ("Amount", _amount),
        "currency": ("CurrencyIsoCode", str),
        "close_date": ("CloseDate", _day),
        "practice": ("Practice__c", str),
        "region": ("Region__c", str),
        "contract_type": ("Contract_Type__c", contract_type_label),
        "psa_project_id": ("PSA_Project_Id__c", str),
    },
)

CONTACT = SObjectMapping(
    sobject="Contact",
    fields=("Id", "AccountId", "Name", "Email", "SystemModstamp"),
    read=_contact,
    record_type=Contact,
    writes={},
)

MAPPINGS: dict[str, SObjectMapping] = {
    "account": ACCOUNT,
    "opportunity": OPPORTUNITY,
    "contact": CONTACT,
}
