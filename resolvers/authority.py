"""Which system owns which field of a merged object, and where the systems disagree.

The map comes from settings (`authority`): entity -> field -> system, with "*" naming
the system that owns every field not listed. A merged object is built from its owner's
record; fields another system owns are read from that system. Where two systems hold
the same field and disagree, the owner's value is served and the disagreement is
reported as a `Conflict`, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sources.records import SourceSystem

# The fields each merged entity can take from each system; "*" is the entity's base
# system, from whose records the object is built.
MERGEABLE: Mapping[str, Mapping[str, frozenset[SourceSystem]]] = {
    "client": {
        "*": frozenset({SourceSystem.CRM}),
        "name": frozenset({SourceSystem.CRM}),
        "industry": frozenset({SourceSystem.CRM}),
        "region": frozenset({SourceSystem.CRM}),
        "accountOwner": frozenset({SourceSystem.CRM}),
        "paymentTerms": frozenset({SourceSystem.ERP}),
        "creditStatus": frozenset({SourceSystem.ERP}),
    },
    "project": {
        "*": frozenset({SourceSystem.PSA}),
        "financeCode": frozenset({SourceSystem.ERP, SourceSystem.PSA}),
    },
    "resource": {
        "*": frozenset({SourceSystem.HCM}),
    },
}


@dataclass(frozen=True)
class Conflict:
    field: str
    owner: SourceSystem
    owner_value: str | None
    system: SourceSystem
    value: str | None


class Authority:
    def __init__(self, config: Mapping[str, Mapping[str, str]]) -> None:
        """Raises ValueError naming the entry when `config` asks for an owner the
        gateway cannot serve a field from."""
        self._owners: dict[str, dict[str, SourceSystem]] = {}
        for entity, fields in MERGEABLE.items():
            self._owners[entity] = {"*": next(iter(fields["*"]))}
        for entity, fields_config in config.items():
            if entity not in MERGEABLE:
                known = ", ".join(sorted(MERGEABLE))
                raise ValueError(f"authority: unknown entity {entity!r}; known: {known}")
            for field, system_name in fields_config.items():
                try:
                    system = SourceSystem(system_name.upper())
                except ValueError:
                    raise ValueError(
                        f"authority.{entity}.{field}: unknown system {system_name!r}"
                    ) from None
                allowed = MERGEABLE[entity].get(field, MERGEABLE[entity]["*"])
                if system not in allowed:
                    choices = ", ".join(sorted(s.value for s in allowed))
                    raise ValueError(
                        f"authority.{entity}.{field}: cannot be owned by {system.value} "
                        f"(choose {choices})"
                    )
                self._owners[entity][field] = system

    def owner(self, entity: str, field: str) -> SourceSystem:
        owners = self._owners[entity]
        default = owners["*"]
        if field in owners:
            return owners[field]
        allowed = MERGEABLE[entity].get(field)
        if allowed is not None and default not in allowed:
            return next(iter(sorted(allowed, key=lambda s: s.value)))
        return default

    def choose(self, entity: str, field: str, values: Mapping[SourceSystem, Any]) -> Any:
        """The owner's value when the owner holds the object, else None."""
        return values.get(self.owner(entity, field))

    def conflicts(
        self,
        entity: str,
        field: str,
        values: Mapping[SourceSystem, Any],
        *,
        missing_disagrees: bool = False,
    ) -> list[Conflict]:
        """Each other system whose value differs from the owner's. Values compare as
        trimmed, case-folded text; a value one side lacks counts only when
        `missing_disagrees` (identity links such as a finance code)."""
        owner = self.owner(entity, field)
        if owner not in values:
            return []
        owner_value = _text(values[owner])
        found: list[Conflict] = []
        for system, value in values.items():
            if system == owner:
                continue
            other = _text(value)
            if (owner_value is None or other is None) and not missing_disagrees:
                continue
            if _same(owner_value, other):
                continue
            found.append(Conflict(field, owner, owner_value, system, other))
        return found


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _same(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.casefold() == b.casefold()
