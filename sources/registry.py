"""Find each system's connector by name, without importing all five up front."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sources.config import SourceSettings
    from sources.connector import Connector

SYSTEMS = ("crm", "psa", "hcm", "erp", "time")  # in port order: 8101..8105


def _check(name: str) -> str:
    if name not in SYSTEMS:
        raise ValueError(f"unknown system {name!r}; choose from {', '.join(SYSTEMS)}")
    return name


def connector_class(name: str) -> type[Connector]:
    module = importlib.import_module(f"sources.{_check(name)}.connector")
    cls: type[Connector] = module.CONNECTOR
    return cls


def make_connector(name: str, settings: SourceSettings) -> Connector:
    return connector_class(name)(settings)
