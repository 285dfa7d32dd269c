"""What psgraph knows about one source system, declared once in its connector package.

Each package (`sources.crm`, ..., or a customer's own) exposes `SYSTEM = SystemSpec(...)`;
the registry, the settings' defaults, paging, webhooks and id validation read it from there.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from sources.connector import Connector

AuthKind = Literal["oauth_client_credentials", "oauth_refresh_token", "bearer", "token", "none"]

# Far beyond any vendor's real ids; a longer one is refused before it is even matched.
MAX_ID_LENGTH = 256


class InvalidSourceIdError(ValueError):
    """A native id that is not of its system's format (it must never reach a URL)."""


@dataclass(frozen=True)
class SystemSpec:
    name: str  # the system's code, as GraphQL and the store write it ("CRM")
    package: str  # the connector package: `<package>.connector` exposes CONNECTOR
    page_max: int  # the most records the vendor returns in one page
    batch_max: int  # the most ids the vendor accepts in one by-id request
    id_format: str  # a regular expression a native id must match whole
    auth_kind: AuthKind
    # entity -> seconds between change scans when the settings name none
    default_poll_interval: Mapping[str, float] = field(default_factory=dict)
    # the type prefix the vendor's notifications use -> the connector's entity
    webhook_entities: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        re.compile(self.id_format)  # a bad pattern fails at import, not on the first id
        object.__setattr__(
            self, "default_poll_interval", MappingProxyType(dict(self.default_poll_interval))
        )
        object.__setattr__(self, "webhook_entities", MappingProxyType(dict(self.webhook_entities)))

    @property
    def key(self) -> str:
        """The name settings use for it ("crm")."""
        return self.name.lower()

    def is_valid_id(self, native_id: str) -> bool:
        return (
            len(native_id) <= MAX_ID_LENGTH and re.fullmatch(self.id_format, native_id) is not None
        )

    def check_id(self, native_id: str) -> str:
        """`native_id` unchanged if it is of this system's format; never normalised."""
        if not self.is_valid_id(native_id):
            shown = native_id if len(native_id) <= 40 else native_id[:40] + "..."
            raise InvalidSourceIdError(f"{shown!r} is not a {self.name} id")
        return native_id

    def connector_class(self) -> type[Connector]:
        module = importlib.import_module(f"{self.package}.connector")
        cls: type[Connector] = module.CONNECTOR
        return cls
