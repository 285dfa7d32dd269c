"""Every source system by name: the five built in, plus any package the settings name.

A system is its package's `SYSTEM` (`sources.system.SystemSpec`); importing a package's
`__init__` is cheap, and its connector module is only imported when a connector is made.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from sources.system import SystemSpec
from sources.system_name import SourceSystem

if TYPE_CHECKING:
    from sources.config import SourceSettings
    from sources.connector import Connector

BUILT_IN_PACKAGES = ("sources.crm", "sources.psa", "sources.hcm", "sources.erp", "sources.time")


def spec_of(package: str) -> SystemSpec:
    """The `SYSTEM` a package declares."""
    spec = getattr(importlib.import_module(package), "SYSTEM", None)
    if not isinstance(spec, SystemSpec):
        raise ValueError(f"package {package!r} declares no SYSTEM = SystemSpec(...)")
    return spec


BUILT_IN: tuple[SystemSpec, ...] = tuple(spec_of(package) for package in BUILT_IN_PACKAGES)
SYSTEMS = tuple(spec.key for spec in BUILT_IN)  # in port order
_BY_KEY = {spec.key: spec for spec in BUILT_IN}


def system(name: str, package: str | None = None) -> SystemSpec:
    """The spec of system `name` ("crm" or "CRM"), read from `package` if one is given."""
    if package is not None:
        spec = spec_of(package)
        if spec.key != name.lower():
            raise ValueError(f"package {package!r} declares system {spec.name}, not {name!r}")
        known = _BY_KEY.setdefault(spec.key, spec)
        if known.package != spec.package:
            raise ValueError(f"system {spec.name} is already declared by {known.package!r}")
        SourceSystem.declare(spec.name)
        return spec
    found = _BY_KEY.get(name.lower())
    if found is None:
        raise ValueError(
            f"unknown system {name!r}; choose from {', '.join(SYSTEMS)} or name its package"
        )
    return found


def connector_class(name: str, package: str | None = None) -> type[Connector]:
    return system(name, package).connector_class()


def make_connector(name: str, settings: SourceSettings) -> Connector:
    return connector_class(name, settings.package)(settings)
