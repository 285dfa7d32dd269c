"""The source systems a workflow step may write to, handed to the step functions by
`bootstrap` (the steps never build connectors themselves)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from sources.connector import Connector
from sources.crm.connector import CrmConnector
from sources.erp.connector import ErpConnector
from sources.hcm.connector import HcmConnector
from sources.psa.connector import PsaConnector
from sources.records import SourceSystem
from sources.time.connector import TimeConnector

C = TypeVar("C", bound=Connector)


class MissingSystemError(LookupError):
    """A step needs a source the gateway is not configured with (not retriable)."""

    retriable = False


@dataclass(frozen=True)
class Systems:
    """The gateway's connectors, by the system each one speaks to; any may be absent."""

    connectors: Mapping[SourceSystem, Connector]

    @property
    def crm(self) -> CrmConnector:
        return self._get(SourceSystem.CRM, CrmConnector)

    @property
    def psa(self) -> PsaConnector:
        return self._get(SourceSystem.PSA, PsaConnector)

    @property
    def erp(self) -> ErpConnector:
        return self._get(SourceSystem.ERP, ErpConnector)

    @property
    def time(self) -> TimeConnector:
        return self._get(SourceSystem.TIME, TimeConnector)

    @property
    def hcm(self) -> HcmConnector:
        return self._get(SourceSystem.HCM, HcmConnector)

    def has(self, *systems: SourceSystem) -> bool:
        return all(system in self.connectors for system in systems)

    def _get(self, system: SourceSystem, kind: type[C]) -> C:
        connector = self.connectors.get(system)
        if connector is None:
            raise MissingSystemError(f"the gateway has no {system.value} source configured")
        if not isinstance(connector, kind):
            raise TypeError(f"the {system.value} connector is a {type(connector).__name__}")
        return connector
