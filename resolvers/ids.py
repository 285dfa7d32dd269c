"""Global object ids: opaque, Relay-style, and decodable back to a type and native key.

An id is the unpadded url-safe base64 of "Type:key", where key is the native id in the
system that owns the type (the CRM account id for a Client, the PSA workspace id for a
Project, the HCM worker id for a Resource, ...). Clients must treat ids as opaque.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from dataclasses import dataclass

from resolvers.errors import InvalidIdError, InvalidInputError
from sources import registry

# Base64 of the longest key any system allows, its type name and the colon, with room.
MAX_ID_LENGTH = 512

# The gateway's own keys (workflow uuids) are read from the store, never put in a URL.
_GATEWAY_KEY = re.compile(r"[A-Za-z0-9-]{1,64}")


@dataclass(frozen=True)
class KeyFormat:
    system: str | None  # None: the gateway's own (a workflow's)
    prefixed: tuple[tuple[str, str], ...] = ()  # (prefix, system of the rest)

    def accepts(self, key: str) -> bool:
        for prefix, system in self.prefixed:
            if key.startswith(prefix):
                return registry.system(system).is_valid_id(key.removeprefix(prefix))
        if self.system is None:
            return _GATEWAY_KEY.fullmatch(key) is not None
        return registry.system(self.system).is_valid_id(key)


@dataclass(frozen=True)
class ExceptionKeyFormat:
    """A business exception's key: its kind, a colon and its subject's key (a native id
    some node type accepts, or a source system's name): "INVOICE_BLOCKED:600001"."""

    def accepts(self, key: str) -> bool:
        kind, sep, subject = key.partition(":")
        if not sep or _EXCEPTION_KIND.fullmatch(kind) is None:
            return False
        if _SYSTEM_NAME.fullmatch(subject) is not None:
            return True
        return any(
            form.accepts(subject) for form in NODE_KEYS.values() if isinstance(form, KeyFormat)
        )


_EXCEPTION_KIND = re.compile(r"[A-Z][A-Z_]{0,63}")
_SYSTEM_NAME = re.compile(r"[A-Z]{2,16}")

# The system whose native id each node type's key is, with the prefixed keys some types
# also take (a Client only ERP knows, a Resource only PSA knows); `schema.nodes.NODES`
# (the node types and their loaders) must name the same types: ids are decoded below the
# schema, and checked here so no malformed key ever reaches a connector or a URL.
NODE_KEYS: dict[str, KeyFormat | ExceptionKeyFormat] = {
    "Client": KeyFormat("crm", prefixed=(("erp:", "erp"),)),
    "Opportunity": KeyFormat("crm"),
    "Project": KeyFormat("psa"),
    "Milestone": KeyFormat("psa"),
    "Resource": KeyFormat("hcm", prefixed=(("psa:", "psa"),)),
    "Assignment": KeyFormat("psa"),
    "StaffingRequest": KeyFormat("psa"),
    "TimeEntry": KeyFormat("time"),
    "Invoice": KeyFormat("erp"),
    "Workflow": KeyFormat(None),
    "BusinessException": ExceptionKeyFormat(),
}
NODE_TYPES = frozenset(NODE_KEYS)


@dataclass(frozen=True)
class GlobalId:
    type: str
    key: str

    def __str__(self) -> str:
        return encode(self.type, self.key)


@functools.lru_cache(maxsize=65536)  # every row that leaves the gateway names its id
def encode(type_name: str, key: str) -> str:
    raw = f"{type_name}:{key}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(value: str, expected: str | None = None, *, argument: str = "id") -> GlobalId:
    """The type and key behind `value`; `InvalidInputError` naming `argument` if it is not
    a psgraph id, or not an id of the `expected` type."""
    if len(value) > MAX_ID_LENGTH:
        raise InvalidIdError(f"{argument}: {_shown(value)} is not a valid id")
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
    if not NODE_KEYS[type_name].accepts(key):
        raise InvalidIdError(f"{argument}: {_shown(value)} is not a valid {type_name} id")
    return GlobalId(type_name, key)


def _shown(value: str) -> str:
    return repr(value) if len(value) <= 60 else repr(value[:60]) + "..."
