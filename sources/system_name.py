"""`SourceSystem`: the name of a source system, an open set declared from the specs.

It behaves like the string enum it replaces (`SourceSystem.CRM`, `SourceSystem("CRM")`,
`.value`, iteration in declaration order, `__members__`), but `declare` adds a system a
customer's package names, so nothing here lists the systems. Instances are interned:
`SourceSystem("CRM") is SourceSystem.CRM`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema


class _Declared(type):
    _declared: dict[str, SourceSystem]

    def __iter__(cls) -> Iterator[SourceSystem]:
        return iter(list(cls._declared.values()))

    def __len__(cls) -> int:
        return len(cls._declared)

    def __contains__(cls, value: object) -> bool:
        return isinstance(value, str) and value in cls._declared

    @property
    def __members__(cls) -> Mapping[str, SourceSystem]:
        return MappingProxyType(cls._declared)


class SourceSystem(str, metaclass=_Declared):
    __slots__ = ()
    _declared: ClassVar[dict[str, SourceSystem]] = {}

    CRM: ClassVar[SourceSystem]
    PSA: ClassVar[SourceSystem]
    HCM: ClassVar[SourceSystem]
    ERP: ClassVar[SourceSystem]
    TIME: ClassVar[SourceSystem]

    def __new__(cls, value: str) -> SourceSystem:
        found = cls._declared.get(str(value))
        if found is None:
            raise ValueError(f"{value!r} is not a declared source system")
        return found

    @classmethod
    def declare(cls, name: str) -> SourceSystem:
        """The system called `name`, declared now if it was not yet."""
        found = cls._declared.get(name)
        if found is None:
            if not name.isidentifier() or name.upper() != name:
                raise ValueError(f"a system's name is an upper-case identifier, not {name!r}")
            found = str.__new__(cls, name)
            cls._declared[name] = found
        return found

    @property
    def value(self) -> str:
        return str.__str__(self)

    @property
    def name(self) -> str:
        return str.__str__(self)

    def __str__(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"<SourceSystem.{self.value}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (SourceSystem, (self.value,))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls,
            serialization=core_schema.plain_serializer_function_ser_schema(
                str.__str__, when_used="json"
            ),
        )
