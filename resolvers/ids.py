"""Global object ids: opaque, Relay-style, and decodable back to a type and native key.

An id is the unpadded url-safe base64 of "Type:key", where key is the native id in the
system that owns the type (the CRM account id for a Client, the PSA workspace id for a
Project, the HCM worker id for a Resource, ...). Clients must treat ids as opaque.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from resolvers.errors import InvalidInputError

# The names of the node types, which `schema.nodes.NODES` (their types and loaders) must
# match: ids are decoded below the schema.
NODE_TYPES = frozenset(
    {
        "Client",
        "Opportunity",
        "Project",
        "Milestone",
        "Resource",
        "Assignment",
        "StaffingRequest",
        "TimeEntry",
        "Invoice",
        "Workflow",
        "BusinessException",
    }
)


@dataclass(frozen=True)
class GlobalId:
    type: str
    key: str

    def __str__(self) -> str:
        return encode(self.type, self.key)


def encode(type_name: str, key: str) -> str:
    raw = f"{type_name}:{key}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(value: str, expected: str | None = None, *, argument: str = "id") -> GlobalId:
    """The type and key behind `value`; `InvalidInputError` naming `argument` if it is not
    a psgraph id, or not an id of the `expected` type."""
    try:
        padded = value + "=" * (-len(value) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidInputError(f"{argument}: {value!r} is not a valid id") from None
    type_name, sep, key = text.partition(":")
    if not sep or not key or type_name not in NODE_TYPES:
        raise InvalidInputError(f"{argument}: {value!r} is not a valid id")
    if expected is not None and type_name != expected:
        raise InvalidInputError(f"{argument}: expected a {expected} id, got a {type_name} id")
    return GlobalId(type_name, key)
