"""Salesforce's value formats, shared by the connector and the sandbox.

Datetimes travel as `2024-05-01T10:00:00.000+0000` (always UTC, millisecond precision);
picklists travel as their labels, which we map to psgraph's canonical codes here.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

API_VERSION = "v62.0"
API_PATH = f"/services/data/{API_VERSION}"
TOKEN_PATH = "/services/oauth2/token"

# The labels of the standard Opportunity stage picklist, as psgraph writes them.
STAGE_LABELS: dict[str, str] = {
    "PROSPECTING": "Prospecting",
    "QUALIFICATION": "Qualification",
    "PROPOSAL": "Proposal/Price Quote",
    "NEGOTIATION": "Negotiation/Review",
    "CLOSED_WON": "Closed Won",
    "CLOSED_LOST": "Closed Lost",
}

# Reading also accepts the other stages of Salesforce's default picklist, which many orgs keep.
_STAGES_BY_LABEL: dict[str, str] = {
    **{label: code for code, label in STAGE_LABELS.items()},
    "Needs Analysis": "QUALIFICATION",
    "Value Proposition": "QUALIFICATION",
    "Id. Decision Makers": "QUALIFICATION",
    "Perception Analysis": "PROPOSAL",
}

CONTRACT_TYPE_LABELS: dict[str, str] = {
    "FIXED_FEE": "Fixed Fee",
    "TIME_AND_MATERIALS": "Time and Materials",
    "MILESTONE": "Milestone",
}
_CONTRACT_TYPES_BY_LABEL = {label: code for code, label in CONTRACT_TYPE_LABELS.items()}


def stage_code(label: str, *, is_closed: bool | None = None, is_won: bool | None = None) -> str:
    """The canonical stage of a StageName label.

    A label outside the default picklist (an org's own stage) is placed by the record's
    IsClosed/IsWon flags when it is closed; an open unknown stage raises ValueError.
    """
    code = _STAGES_BY_LABEL.get(label)
    if code is not None:
        return code
    if is_closed:
        return "CLOSED_WON" if is_won else "CLOSED_LOST"
    raise ValueError(f"unknown opportunity stage {label!r}")


def stage_labels(code: str) -> list[str]:
    """Every label read as this canonical stage (the default picklist's synonyms included)."""
    stage_label(code)
    return [label for label, known in _STAGES_BY_LABEL.items() if known == code]


def stage_label(code: str) -> str:
    try:
        return STAGE_LABELS[code]
    except KeyError:
        raise ValueError(f"unknown canonical stage {code!r}") from None


def contract_type_code(label: str) -> str:
    """The canonical contract type; an org's own label keeps its words in UPPER_SNAKE form."""
    code = _CONTRACT_TYPES_BY_LABEL.get(label)
    if code is not None:
        return code
    return "_".join(label.upper().replace("&", "AND").split())


def contract_type_label(code: str) -> str:
    try:
        return CONTRACT_TYPE_LABELS[code]
    except KeyError:
        raise ValueError(f"unknown canonical contract type {code!r}") from None


@functools.lru_cache(maxsize=65536)  # a record's stamps are formatted on every read of it
def format_datetime(moment: datetime) -> str:
    """Salesforce's dateTime wire format, in UTC with milliseconds."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime:
    """A dateTime in any ISO 8601 form Salesforce sends or accepts; naive means UTC."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
