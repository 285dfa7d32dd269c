"""The sandbox org's schema: Account, Contact and Opportunity, as Salesforce describes them.

Each field has a type, which decides how its values are read from JSON and SOQL and
written back; system fields are read-only; `Psgraph_Key__c` is a (non-unique) external id,
so upserts by it can meet several matches, as on a real org.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from sandboxes.crm.soql_engine import Value
from sources.crm import ids
from sources.crm.formats import CONTRACT_TYPE_LABELS, STAGE_LABELS, format_datetime, parse_datetime


class FieldType(Enum):
    ID = "id"
    REFERENCE = "reference"
    STRING = "string"
    EMAIL = "email"
    PICKLIST = "picklist"
    CURRENCY = "currency"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"


class FieldError(ValueError):
    """A value that does not fit its field; `code` is the Salesforce errorCode."""

    def __init__(self, code: str, message: str, field_name: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field_name = field_name


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    writable: bool = True
    required: bool = False  # on create
    external_id: bool = False
    references: str | None = None  # the sObject a REFERENCE points at
    picklist: tuple[str, ...] = ()  # a restricted picklist's labels

    def from_json(self, raw: Any) -> Value:
        """The stored value for a JSON value; FieldError when it does not fit."""
        if raw is None:
            return None
        if self.picklist and raw not in self.picklist:
            raise FieldError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"bad value for restricted picklist field: {raw}",
                self.name,
            )
        if self.type in (FieldType.ID, FieldType.REFERENCE):
            if not isinstance(raw, str) or not ids.is_valid(raw):
                raise FieldError(
                    "MALFORMED_ID", f"{self.name}: id value of incorrect type: {raw}", self.name
                )
            return ids.to_18(raw)
        try:
            return self._parse(raw)
        except (TypeError, ValueError, InvalidOperation):
            raise FieldError(
                "JSON_PARSER_ERROR",
                f"Cannot deserialize instance of {self.type.value} from value {raw!r}",
                self.name,
            ) from None

    def _parse(self, raw: Any) -> Value:
        kind = self.type
        if kind is FieldType.CURRENCY:
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise TypeError(raw)
            amount = Decimal(str(raw))
            if not amount.is_finite():
                raise ValueError(raw)
            return amount
        if kind is FieldType.BOOLEAN:
            if not isinstance(raw, bool):
                raise TypeError(raw)
            return raw
        if not isinstance(raw, str):
            raise TypeError(raw)
        if kind is FieldType.DATE:
            return date.fromisoformat(raw)
        if kind is FieldType.DATETIME:
            return parse_datetime(raw)
        return raw

    def to_json(self, value: Value) -> Any:
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, datetime):
            return format_datetime(value)
        return value.isoformat()

    def accepts_literal(self, value: Value) -> bool:
        """Whether a SOQL literal has this field's type (NULL fits every field)."""
        if value is None:
            return True
        expected: type | tuple[type, ...] = {
            FieldType.CURRENCY: Decimal,
            FieldType.BOOLEAN: bool,
            FieldType.DATE: date,
            FieldType.DATETIME: datetime,
        }.get(self.type, str)
        if expected is date:
            return isinstance(value, date) and not isinstance(value, datetime)
        return isinstance(value, expected) and (expected is bool or not isinstance(value, bool))


@dataclass(frozen=True)
class SObjectType:
    name: str
    prefix: str  # the 3-char key prefix of its ids
    fields: tuple[Field, ...]
    _by_name: Mapping[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> Field | None:
        """The field of that name, matched ignoring case as Salesforce does."""
        return self._by_name.get(name.lower())


_SYSTEM_FIELDS = (
    Field("Id", FieldType.ID, writable=False),
    Field("CreatedDate", FieldType.DATETIME, writable=False),
    Field("LastModifiedDate", FieldType.DATETIME, writable=False),
    Field("SystemModstamp", FieldType.DATETIME, writable=False),
)
_KEY = Field("Psgraph_Key__c", FieldType.STRING, external_id=True)

ACCOUNT = SObjectType(
    "Account",
    "001",
    (
        *_SYSTEM_FIELDS,
        Field("Name", FieldType.STRING, required=True),
        Field("Industry", FieldType.PICKLIST),
        Field("Region__c", FieldType.PICKLIST),
        Field("Account_Owner__c", FieldType.STRING),
        Field("CurrencyIsoCode", FieldType.PICKLIST),
        _KEY,
    ),
)

CONTACT = SObjectType(
    "Contact",
    "003",
    (
        *_SYSTEM_FIELDS,
        Field("AccountId", FieldType.REFERENCE, references="Account"),
        Field("FirstName", FieldType.STRING),
        Field("LastName", FieldType.STRING, required=True),
        Field("Name", FieldType.STRING, writable=False),  # compound: FirstName LastName
        Field("Email", FieldType.EMAIL),
        _KEY,
    ),
)

OPPORTUNITY = SObjectType(
    "Opportunity",
    "006",
    (
        *_SYSTEM_FIELDS,
        Field("AccountId", FieldType.REFERENCE, references="Account"),
        Field("Name", FieldType.STRING, required=True),
        Field(
            "StageName",
            FieldType.PICKLIST,
            required=True,
            picklist=tuple(STAGE_LABELS.values()),
        ),
        Field("IsClosed", FieldType.BOOLEAN, writable=False),
        Field("IsWon", FieldType.BOOLEAN, writable=False),
        Field("Amount", FieldType.CURRENCY),
        Field("CurrencyIsoCode", FieldType.PICKLIST),
        Field("CloseDate", FieldType.DATE, required=True),
        Field("Practice__c", FieldType.PICKLIST),
        Field("Region__c", FieldType.PICKLIST),
        Field(
            "Contract_Type__c",
            FieldType.PICKLIST,
            picklist=tuple(CONTRACT_TYPE_LABELS.values()),
        ),
        Field("PSA_Project_Id__c", FieldType.STRING),
        _KEY,
    ),
)

SOBJECTS: dict[str, SObjectType] = {t.name.lower(): t for t in (ACCOUNT, CONTACT, OPPORTUNITY)}


def sobject_type(name: str) -> SObjectType | None:
    return SOBJECTS.get(name.lower())
