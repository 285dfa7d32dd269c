"""Reading Harvest query parameters and JSON fields; a bad value is a 422, as in Harvest."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime


class InvalidValueError(ValueError):
    """A request Harvest would answer with 422 and this message."""


def optional_date(params: Mapping[str, str], name: str) -> date | None:
    value = params.get(name)
    return None if value is None else parse_date(value, name)


def parse_date(value: object, name: str) -> date:
    """YYYY-MM-DD; the reports API also takes YYYYMMDD."""
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 8 and text.isdigit():
            text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise InvalidValueError(f"{name} must be a date (YYYY-MM-DD)")


def optional_datetime(params: Mapping[str, str], name: str) -> datetime | None:
    value = params.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValueError(f"{name} must be an ISO 8601 date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def optional_bool(params: Mapping[str, str], name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise InvalidValueError(f"{name} must be true or false")


def optional_choice(params: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str | None:
    value = params.get(name)
    if value is not None and value not in choices:
        raise InvalidValueError(f"{name} must be one of {', '.join(choices)}")
    return value


def positive_int(value: object, name: str, *, maximum: int | None = None) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise InvalidValueError(f"{name} must be a whole number") from None
    if number < 1:
        raise InvalidValueError(f"{name} must be greater than 0")
    if maximum is not None and number > maximum:
        raise InvalidValueError(f"{name} must be less than or equal to {maximum}")
    return number
