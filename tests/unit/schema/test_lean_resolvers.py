"""Lean resolvers: fields without arguments or extensions skip strawberry's per-call chain
and answer exactly as before; the others keep strawberry's resolver."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission

from schema import build_schema
from schema.lean import lean_resolvers


class Never(BasePermission):
    message = "never"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Row:
    name: str
    key: strawberry.Private[str]

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    def seen_by(self, info: strawberry.Info) -> str:
        return f"{info.context['who']} at {info.path.key}"

    @strawberry.field
    async def later(self, info: strawberry.Info) -> str:
        return f"{self.key}:{info.field_name}"

    @strawberry.field
    def padded(self, width: int = 6) -> str:
        return self.name.ljust(width, ".")

    @strawberry.field(permission_classes=[Never])
    def secret(self) -> str | None:
        return "leaked"


@strawberry.type
class Query:
    @strawberry.field
    def rows(self) -> list[Row]:
        return [Row(name="ada", key="k1"), Row(name="bo", key="k2")]

    @strawberry.field
    def constant() -> str:  # no self: strawberry allows it
        return "c"


QUERY = """{ constant rows { name shout seenBy later padded(width: 4) secret } }"""

EXPECTED = {
    "constant": "c",
    "rows": [
        {
            "name": "ada",
            "shout": "ADA",
            "seenBy": "carol at seenBy",
            "later": "k1:later",
            "padded": "ada.",
            "secret": None,
        },
        {
            "name": "bo",
            "shout": "BO",
            "seenBy": "carol at seenBy",
            "later": "k2:later",
            "padded": "bo..",
            "secret": None,
        },
    ],
}


def resolvers_of(schema: strawberry.Schema, type_name: str) -> dict[str, Any]:
    kind = schema._schema.type_map[type_name]
    return {name: field.resolve for name, field in kind.fields.items()}  # type: ignore[attr-defined]


async def test_a_lean_schema_answers_as_strawberry_does() -> None:
    plain = strawberry.Schema(query=Query)
    lean = strawberry.Schema(query=Query)
    lean_resolvers(lean)
    for schema in (plain, lean):
        result = await schema.execute(QUERY, context_value={"who": "carol"})
        assert result.data == EXPECTED
        assert [e.message for e in result.errors or []] == ["never", "never"]


def test_only_fields_without_arguments_or_extensions_are_replaced() -> None:
    schema = strawberry.Schema(query=Query)
    before = resolvers_of(schema, "Row")
    lean_resolvers(schema)
    after = resolvers_of(schema, "Row")
    changed = {name for name in before if after[name] is not before[name]}
    assert changed == {"name", "shout", "seenBy", "later"}


def test_the_gateway_schema_is_built_lean() -> None:
    schema = build_schema()
    client = schema._schema.type_map["Project"].fields["client"]  # type: ignore[attr-defined]
    assert client.resolve.__module__ == "schema.lean"
