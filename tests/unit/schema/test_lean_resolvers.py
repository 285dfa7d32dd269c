"""Lean resolvers: fields without extensions, and without arguments or with only scalar
ones, skip strawberry's per-call chain and answer exactly as before; the others keep
strawberry's resolver."""

from __future__ import annotations

import asyncio
import inspect
import types
from enum import Enum
from typing import Annotated, Any

import pydantic
import pytest
import strawberry
from graphql.pyutils import is_awaitable
from strawberry.permission import BasePermission

from schema import build_schema, lean
from schema.lean import LeanExecution, awaitable, lean_resolvers


@strawberry.enum
class Tint(Enum):
    BLUE = "blue"
    GREEN = "green"


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

    @strawberry.field
    def between(
        self,
        info: strawberry.Info,
        from_: Annotated[str, strawberry.argument(name="from")],
        to: str = "z",
        by: strawberry.ID | None = None,
    ) -> str:
        return f"{self.name} {from_}-{to} by {by} at {info.path.key}"

    @strawberry.field
    def tinted(self, info: strawberry.Info, colour: Tint = Tint.BLUE) -> str:
        return f"{self.name} in {colour.value}"

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


QUERY = """{ constant rows {
  name shout seenBy later padded(width: 4) secret
  between(from: "a") tinted(colour: GREEN) other: between(from: "b", to: "c", by: 7)
} }"""

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
            "between": "ada a-z by None at between",
            "tinted": "ada in green",
            "other": "ada b-c by 7 at other",
        },
        {
            "name": "bo",
            "shout": "BO",
            "seenBy": "carol at seenBy",
            "later": "k2:later",
            "padded": "bo..",
            "secret": None,
            "between": "bo a-z by None at between",
            "tinted": "bo in green",
            "other": "bo b-c by 7 at other",
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


def test_only_fields_without_extensions_or_arguments_other_than_scalars_are_replaced() -> None:
    schema = strawberry.Schema(query=Query)
    before = resolvers_of(schema, "Row")
    lean_resolvers(schema)
    after = resolvers_of(schema, "Row")
    changed = {name for name in before if after[name] is not before[name]}
    # `padded` takes no info (a rare shape, left to strawberry); `tinted` takes an enum.
    assert changed == {"name", "shout", "seenBy", "later", "between"}


def test_the_gateway_schema_is_built_lean() -> None:
    schema = build_schema()
    client = schema._schema.type_map["Project"].fields["client"]  # type: ignore[attr-defined]
    assert client.resolve.__module__ == "schema.lean"


class Colour(Enum):
    RED = "red"


strawberry.enum(Colour)


class BrokenLabel:
    """A row whose label raises when read."""

    name, count, colour, nickname = "di", 4, Colour.RED, None

    @property
    def label(self) -> str:
        raise RuntimeError("the label could not be read")


@strawberry.type
class Leaf:
    name: str
    count: int
    colour: Colour
    nickname: str | None
    label: str

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()  # raises where the name is missing


@strawberry.type
class LeafQuery:
    @strawberry.field
    def leaves(self) -> list[Leaf | None]:
        good = Leaf(name="ada", count=2, colour=Colour.RED, nickname=None, label="a")
        return [
            good,
            Leaf(name=None, count=1, colour=Colour.RED, nickname="x", label="b"),  # type: ignore[arg-type]
            Leaf(name="bo", count="many", colour=Colour.RED, nickname="y", label="c"),  # type: ignore[arg-type]
            Leaf(name="cy", count=3, colour="blue", nickname="z", label="d"),  # type: ignore[arg-type]
            BrokenLabel(),  # type: ignore[list-item]
        ]


LEAVES = "{ leaves { name count colour nickname label } }"


def lean_execution_schema(query: type = LeafQuery) -> strawberry.Schema:
    schema = strawberry.Schema(query=query, execution_context_class=LeanExecution)
    lean_resolvers(schema)
    return schema


async def test_leaves_read_without_resolve_info_answer_and_fail_as_graphql_core_does() -> None:
    plain = await strawberry.Schema(query=LeafQuery).execute(LEAVES)
    lean = await lean_execution_schema().execute(LEAVES)

    assert lean.data == plain.data
    assert lean.data is not None
    assert lean.data["leaves"][0] == {
        "name": "ada",
        "count": 2,
        "colour": "RED",
        "nickname": None,
        "label": "a",
    }
    assert [(e.message, e.path) for e in lean.errors or []] == [
        (e.message, e.path) for e in plain.errors or []
    ]
    assert len(plain.errors or []) == 4  # a null name, a word count, a colour, a raising label


async def test_leaves_are_read_without_a_resolve_info(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    build = LeanExecution.build_resolve_info

    def counted(self: LeanExecution, field_def: Any, nodes: Any, parent: Any, path: Any) -> Any:
        built.append(f"{parent.name}.{nodes[0].name.value}")
        return build(self, field_def, nodes, parent, path)

    monkeypatch.setattr(LeanExecution, "build_resolve_info", counted)
    result = await lean_execution_schema().execute("{ leaves { nickname } }")

    assert result.data is not None
    assert len(result.data["leaves"]) == 5
    assert built == ["LeafQuery.leaves"]


async def test_a_leaf_whose_resolver_was_wrapped_afterwards_runs_the_wrapper() -> None:
    schema = lean_execution_schema()
    field = schema._schema.type_map["Leaf"].fields["nickname"]  # type: ignore[attr-defined]
    read = field.resolve
    field.resolve = lambda source, info: (read(source, info) or "-").upper()

    result = await schema.execute("{ leaves { nickname } }")

    assert result.data == {"leaves": [{"nickname": n} for n in ["-", "X", "Y", "Z", "-"]]}


def test_the_gateway_schema_executes_lean() -> None:
    assert build_schema().execution_context_class is LeanExecution


class Record(pydantic.BaseModel):
    name: str


class Awaitable:
    def __await__(self) -> Any:
        yield from asyncio.sleep(0).__await__()


@types.coroutine
def iterable_coroutine() -> Any:
    yield


def plain_generator() -> Any:
    yield


@pytest.mark.parametrize(
    "make",
    [
        lambda: None, lambda: "text", lambda: 3, lambda: [1], lambda: Record(name="a"),
        lambda: Colour.RED, lambda: asyncio.sleep(0), lambda: Awaitable(),
        iterable_coroutine, plain_generator,
    ],
    ids=[
        "none", "str", "int", "list", "pydantic", "enum", "coroutine", "__await__",
        "iterable-coroutine", "generator",
    ],
)  # fmt: skip
async def test_awaitable_answers_as_graphql_core_does_again_and_again(make: Any) -> None:
    for _ in range(2):  # the second time from what the first learnt of the type
        value = make()
        assert awaitable(value) == is_awaitable(value)
        if inspect.iscoroutine(value) or inspect.isgenerator(value):
            value.close()


def test_records_are_not_asked_whether_they_are_awaitable_once_their_type_is_known(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    awaitable(Record(name="first"))
    asked: list[str] = []
    monkeypatch.setattr(Record, "__getattr__", lambda self, name: asked.append(name), raising=False)

    assert awaitable(Record(name="again")) is False
    assert asked == []


async def test_lean_execution_asks_awaitable_of_what_fields_resolve_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[Any] = []

    def spy(value: Any) -> bool:
        asked.append(value)
        return awaitable(value)

    monkeypatch.setattr(lean, "awaitable", spy)
    await lean_execution_schema().execute("{ leaves { name } }")

    assert any(isinstance(value, Leaf) for value in asked)


def executed_fields(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The fields graphql-core's `execute_field` runs from now on, as `Type.field`."""
    executed: list[str] = []
    execute = LeanExecution.execute_field

    def counted(self: LeanExecution, parent: Any, source: Any, fields: Any, *rest: Any) -> Any:
        executed.append(f"{parent.name}.{fields[0].node.name.value}")
        return execute(self, parent, source, fields, *rest)

    monkeypatch.setattr(LeanExecution, "execute_field", counted)
    return executed


async def test_a_rows_leaves_are_answered_without_a_field_execution_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    executed = executed_fields(monkeypatch)
    result = await lean_execution_schema().execute("{ leaves { nickname } }")

    assert result.data is not None
    assert len(result.data["leaves"]) == 5
    assert executed == ["LeafQuery.leaves"]


async def test_a_string_or_enum_member_read_is_answered_without_its_types_coercion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fields = lean_execution_schema()._schema.type_map["Leaf"].fields  # type: ignore[attr-defined]
    reads = {name: fields[name].resolve.leaf_read for name in ("name", "label", "count", "colour")}
    coerced: list[Any] = []

    def counted(read: Any) -> Any:
        coerce = read.leaf.coerce_output_value

        def coerce_counted(value: Any) -> Any:
            coerced.append(value)
            return coerce(value)

        return coerce_counted

    for read in {id(read.leaf): read for read in reads.values()}.values():  # name, label: one
        monkeypatch.setattr(read.leaf, "coerce_output_value", counted(read))
    leaf = Leaf(name="ada", count=2, colour=Colour.RED, nickname=None, label="a")
    subclassed = Leaf(name=Shouted("bo"), count=2, colour=Colour.RED, nickname=None, label="b")

    answers = [lean._read(read, row) for row in (leaf, subclassed) for read in reads.values()]

    assert [reads[name].unchanged for name in reads] == [str, str, None, None]
    assert reads["colour"].enum is Colour
    assert answers == ["ada", "a", 2, "RED", "bo", "b", 2, "RED"]
    assert coerced == [2, "bo", 2]  # an Int, and a str's subclass: coerced


class Shouted(str):
    pass


async def test_leaves_answer_in_the_order_and_under_the_names_asked() -> None:
    query = "{ leaves { b: label name a: count name colour } }"

    plain = await strawberry.Schema(query=LeafQuery).execute(query)
    lean = await lean_execution_schema().execute(query)

    assert lean.data is not None
    assert plain.data is not None
    assert [list(row) for row in lean.data["leaves"] if row] == [
        list(row) for row in plain.data["leaves"] if row
    ]
    assert lean.data == plain.data


async def test_a_leaf_method_of_the_source_alone_is_called_without_a_field_execution(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    executed = executed_fields(monkeypatch)
    plain = await strawberry.Schema(query=LeafQuery).execute("{ leaves { shout count } }")
    lean = await lean_execution_schema().execute("{ leaves { shout count } }")

    assert lean.data == plain.data
    assert [(e.message, e.path) for e in lean.errors or []] == [
        (e.message, e.path) for e in plain.errors or []
    ]
    # The one row whose method raises takes the long way, which reports it.
    assert executed.count("Leaf.shout") == 1
    assert executed.count("Leaf.count") == 1  # the count given as a word: not plain


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Part(Named):
    size: int


@strawberry.type
class Whole:
    label: str

    @strawberry.field
    def part(self) -> Part:
        return Part(name=self.label, size=len(self.label))

    @strawberry.field
    def maybe(self) -> Part | None:
        return None if self.label == "b" else Part(name="m", size=1)

    @strawberry.field
    def must(self) -> Part:
        return None if self.label == "c" else Part(name="m", size=1)  # type: ignore[return-value]

    @strawberry.field
    def broken(self) -> Part | None:
        if self.label == "b":
            raise RuntimeError("the part could not be read")
        return Part(name="x", size=1)

    @strawberry.field
    async def later(self, info: strawberry.Info) -> Part:
        return Part(name=f"{self.label}:{info.field_name}", size=2)

    @strawberry.field
    def wrong(self) -> Part | None:
        return Whole(label="w") if self.label == "b" else Part(name="r", size=1)  # type: ignore[return-value]

    @strawberry.field
    def sized(self, size: int = 2) -> Part:
        return Part(name=self.label, size=size)

    @strawberry.field
    def weight(self, info: strawberry.Info, times: int = 1) -> int:
        if self.label == "b" and times > 5:
            raise RuntimeError("too heavy to weigh")
        return len(self.label) * times + len(info.path.as_list())

    @strawberry.field
    def tag(self, info: strawberry.Info) -> str:
        return None if self.label == "c" else f"{self.label}@{info.path.as_list()}"  # type: ignore[return-value]

    @strawberry.field
    async def grade(self, info: strawberry.Info) -> int:
        return len(info.field_name) + len(self.label)

    @strawberry.field
    def odd(self, info: strawberry.Info) -> int:
        return "many" if self.label == "a" else 1  # type: ignore[return-value]


@strawberry.type
class WholeQuery:
    @strawberry.field
    def wholes(self) -> list[Whole | None]:
        return [Whole(label="a"), Whole(label="b"), Whole(label="c")]

    @strawberry.field
    def parts(self) -> list[Part | None]:
        return [Part(name="p", size=1), Whole(label="w"), None]  # type: ignore[list-item]

    @strawberry.field
    def must_parts(self) -> list[Part] | None:
        return [Part(name="p", size=1), None]  # type: ignore[list-item]


WHOLES = """{ wholes { label part { name size } maybe { name } must { name }
  broken { name } later { name } wrong { name } sized(size: 3) { size } }
  parts { name } mustParts { size } }"""


async def test_object_fields_answer_and_fail_as_graphql_core_does() -> None:
    plain = await strawberry.Schema(query=WholeQuery).execute(WHOLES)
    lean = await lean_execution_schema(WholeQuery).execute(WHOLES)

    assert lean.data == plain.data
    assert plain.data is not None
    assert plain.data["wholes"][0]["part"] == {"name": "a", "size": 1}
    assert plain.data["wholes"][0]["later"] == {"name": "a:later"}
    assert plain.data["wholes"][1]["maybe"] is None
    assert plain.data["wholes"][2] is None  # `must` was null: the row is
    assert plain.data["parts"] == [{"name": "p"}, None, None]
    assert plain.data["mustParts"] is None
    assert sorted((e.message, e.path) for e in lean.errors or []) == sorted(
        (e.message, e.path) for e in plain.errors or []
    )
    messages = " | ".join(sorted(e.message for e in plain.errors or []))
    assert "Cannot return null for non-nullable field Whole.must." in messages
    assert "the part could not be read" in messages
    assert "Expected value of type 'Part'" in messages
    assert "Cannot return null for non-nullable field WholeQuery.mustParts." in messages


async def test_the_type_check_of_an_object_field_runs_on_the_short_way_too() -> None:
    schema = lean_execution_schema(WholeQuery)
    assert schema._schema.type_map["Part"].is_type_of is not None  # type: ignore[attr-defined]
    result = await schema.execute("{ wholes { wrong { name } } }")

    assert result.data == {
        "wholes": [{"wrong": {"name": "r"}}, {"wrong": None}, {"wrong": {"name": "r"}}]
    }
    assert [(e.message[:31], e.path) for e in result.errors or []] == [
        ("Expected value of type 'Part' b", ["wholes", 1, "wrong"])
    ]


async def test_a_rows_object_fields_are_resolved_without_a_field_execution(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    executed = executed_fields(monkeypatch)
    result = await lean_execution_schema(WholeQuery).execute(
        "{ wholes { part { name } maybe { size } later { name } sized { size } } }"
    )

    assert result.data is not None
    assert result.errors is None
    assert executed == ["WholeQuery.wholes"]  # a list: graphql-core's way


ARGUMENTS_AND_LEAVES = """query($times: Int!) { wholes {
  label weight(times: $times) light: weight tag grade odd sized(size: $times) { size } } }"""


@pytest.mark.parametrize("times", [2, 6])
async def test_leaf_and_argument_fields_answer_and_fail_as_graphql_core_does(times: int) -> None:
    variables = {"times": times}
    plain = await strawberry.Schema(query=WholeQuery).execute(
        ARGUMENTS_AND_LEAVES, variable_values=variables
    )
    lean = await lean_execution_schema(WholeQuery).execute(
        ARGUMENTS_AND_LEAVES, variable_values=variables
    )

    assert plain.data is not None
    assert lean.data == plain.data
    assert sorted((e.message, e.path) for e in lean.errors or []) == sorted(
        (e.message, e.path) for e in plain.errors or []
    )
    messages = " | ".join(sorted(e.message for e in plain.errors or []))
    assert "Cannot return null for non-nullable field Whole.tag." in messages
    assert "Int cannot represent non-integer value: 'many'" in messages
    assert ("too heavy to weigh" in messages) is (times > 5)


async def test_a_fields_arguments_are_coerced_once_per_selection_not_per_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    executed = executed_fields(monkeypatch)
    coerced: list[str] = []
    coerce = lean.get_argument_values

    def counted(field: Any, node: Any, *rest: Any) -> Any:
        coerced.append(node.name.value)
        return coerce(field, node, *rest)

    monkeypatch.setattr(lean, "get_argument_values", counted)
    result = await lean_execution_schema(WholeQuery).execute(
        ARGUMENTS_AND_LEAVES, variable_values={"times": 2}
    )

    assert result.data is not None
    assert [row["sized"] if row else None for row in result.data["wholes"]] == [
        None,  # its `odd` is not an Int
        {"size": 2},
        None,  # its `tag` is null
    ]
    assert sorted(coerced) == ["sized", "weight", "weight"]  # three selections, three rows
    assert executed == ["WholeQuery.wholes"]


async def test_rows_and_their_object_fields_are_completed_without_dispatch_on_the_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    completed: list[str] = []
    complete = LeanExecution.complete_value

    def counted(self: LeanExecution, return_type: Any, *rest: Any) -> Any:
        completed.append(str(return_type))
        return complete(self, return_type, *rest)

    monkeypatch.setattr(LeanExecution, "complete_value", counted)
    result = await lean_execution_schema(WholeQuery).execute("{ wholes { label part { name } } }")

    assert result.data is not None
    assert len(result.data["wholes"]) == 3
    assert completed == ["[Whole]!", "[Whole]"]  # the list itself; not a row, not a part


async def test_without_stream_in_the_schema_no_list_looks_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def looked(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("looked for @stream")

    monkeypatch.setattr(
        "strawberry.schema.schema.StrawberryGraphQLCoreExecutionContext.get_stream_usage", looked
    )
    schema = lean_execution_schema()

    result = await schema.execute("{ leaves { name } }")
    assert result.data is not None
    assert len(result.data["leaves"]) == 5

    refused = await schema.execute("{ leaves @stream(initialCount: 1) { name } }")
    assert refused.data is None
    assert refused.errors
    assert "Unknown directive" in refused.errors[0].message


async def test_without_defer_in_the_schema_a_rows_fields_are_collected_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collected: list[str] = []
    collect = LeanExecution.collect_subfields

    def counted(self: LeanExecution, return_type: Any, *rest: Any) -> Any:
        collected.append(return_type.name)
        return collect(self, return_type, *rest)

    monkeypatch.setattr(LeanExecution, "collect_subfields", counted)
    schema = lean_execution_schema(WholeQuery)

    result = await schema.execute("{ wholes { label part { name } } }")
    assert result.data is not None
    assert [row["part"] for row in result.data["wholes"]] == [{"name": n} for n in "abc"]
    assert sorted(collected) == ["Part", "Whole"]  # once per selection, not per row

    refused = await schema.execute("{ wholes { ... @defer { label } } }")
    assert refused.data is None
    assert refused.errors
    assert "Unknown directive" in refused.errors[0].message


seen_infos: list[Any] = []


@strawberry.type
class Watched:
    label: str

    @strawberry.field
    def part(self, info: strawberry.Info) -> Part:
        seen_infos.append(info._raw_info)
        return Part(name=self.label, size=1)


@strawberry.type
class WatchedQuery:
    @strawberry.field
    def watched(self) -> list[Watched]:
        return [Watched(label="a"), Watched(label="b")]


async def test_an_object_fields_resolver_gets_the_resolve_info_strawberry_builds() -> None:
    query = "query Look($v: Boolean!) { watched { part @include(if: $v) { name } } }"
    infos: dict[str, list[Any]] = {}
    for name, schema in (
        ("plain", strawberry.Schema(query=WatchedQuery)),
        ("lean", lean_execution_schema(WatchedQuery)),
    ):
        seen_infos.clear()
        result = await schema.execute(
            query, variable_values={"v": True}, context_value={"who": name}
        )
        assert result.errors is None
        infos[name] = list(seen_infos)

    def shown(info: Any) -> dict[str, Any]:
        return {
            field: str(value) if field in {"return_type", "parent_type", "schema"} else value
            for field, value in info._asdict().items()
            if field not in {"schema", "is_awaitable", "async_helpers", "operation"}
        } | {"path": info.path.as_list(), "operation": info.operation.name.value}

    assert [type(info) for info in infos["lean"]] == [type(info) for info in infos["plain"]]
    lean, plain = ([shown(i) for i in infos[name]] for name in ("lean", "plain"))
    assert [i["path"] for i in lean] == [["watched", 0, "part"], ["watched", 1, "part"]]
    assert [i["context"] for i in lean] == [{"who": "lean"}] * 2
    for i in (*lean, *plain):
        i.pop("context")
    assert lean == plain
