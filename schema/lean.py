"""Lean resolvers: a field that needs none of strawberry's per-call work skips it.

strawberry resolves every field with a resolver through the same chain: a fresh `Info`,
argument conversion, the field's extension chain built with `functools.reduce`, then the
resolver. For a field without arguments or extensions (a row's `client`, `manager`,
`project`…), all but the `Info` is work with nothing to do, and it runs once per row.
Fields without a resolver are read through two calls into strawberry's default resolver.
`lean_resolvers` replaces both kinds, after the schema is built, with a direct call: the
resolver given the source and an `Info` as strawberry would give them, or the attribute
itself. Fields with arguments, extensions (permissions included), a custom `get_result`
or a schema's exception handlers keep strawberry's own resolver.

`LeanExecution` goes one step further for an attribute of a scalar or enum type (most of
any page): it reads and coerces it without the resolve info graphql-core builds for every
field. Any other field of an object, scalar or enum type (a row's `node`, `client`,
`health`, `utilization(from, to)`…) is resolved with its arguments coerced once per
selection, and completed without graphql-core's dispatch on the type per row
(`FieldCall`). It also asks whether a value is awaitable once per type (`awaitable`).
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from inspect import CO_ITERABLE_COROUTINE
from operator import attrgetter
from types import CoroutineType, GeneratorType
from typing import Any, cast

from graphql import (
    FieldNode,
    GraphQLDeferDirective,
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    GraphQLStreamDirective,
    Undefined,
    is_leaf_type,
    specified_scalar_types,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.execution.executor import invalid_return_type_error
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, gather_with_cancel
from strawberry import Schema
from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter
from strawberry.types.base import StrawberryMaybe, StrawberryOptional
from strawberry.types.field import StrawberryField

__all__ = ["FieldCall", "LeafRead", "LeanExecution", "awaitable", "lean_resolvers"]

Resolve = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class LeafRead:
    """A field of a scalar or enum type whose value is a plain function of its source:
    one of its attributes, or a method needing nothing else (not a coroutine function).
    Such methods here are pure (a project's health figures, an edge's cursor): when the
    value is not plain, the long way calls the method again and reports what it does."""

    read: Callable[[Any], Any]
    leaf: GraphQLLeafType
    nullable: bool
    # The Python type whose instances the scalar gives back as they are, so a value of
    # exactly that type needs no coercion (String and ID: str; Boolean: bool); or None.
    unchanged: type | None
    # For a strawberry enum: its Python class, and each member's GraphQL name, as
    # strawberry's coercion finds it (by a walk of the values, per row); or None.
    enum: type | None
    names: dict[Any, str]


@dataclass(frozen=True, slots=True)
class FieldCall:
    """A field of an object type (not a list, not abstract), or of a scalar or enum type,
    whose resolver is called: what graphql-core looks up and works out again for it on
    every row, once per selection."""

    field: GraphQLField
    nodes: list[FieldNode]
    resolve: Resolve
    object_type: GraphQLObjectType | None  # None: the field is of `leaf`
    leaf: GraphQLLeafType | None
    # Coerced from the selection and the request's variables, which no row changes; every
    # row's resolver gets the same values (strawberry's own conversion copies them per
    # call, and the lean resolvers take scalars only).
    arguments: dict[str, Any]
    # The field's resolve info but its path, which alone differs from row to row; the
    # info class is strawberry's (a named tuple), with None where it has no `path`.
    info_class: type[tuple[Any, ...]] | None
    before_path: tuple[Any, ...]
    after_path: tuple[Any, ...]


class LeanExecution(StrawberryGraphQLCoreExecutionContext):
    """Resolves a `LeafRead` field without building its path or resolve info.

    graphql-core makes every field a path and a resolve info (its field nodes, schema…)
    before calling the resolver, then dispatches on the type to complete the value. A
    scalar read from an attribute needs none of it. Which fields of a selection are such
    reads is worked out once per selection (graphql-core collects a list's rows' fields
    once, so every row shares it), and each row then reads them in a plain loop. What the
    short way cannot answer plainly (a null where none may be, a value the scalar refuses,
    an exception) takes graphql-core's own way, which reports it as usual. A field whose
    resolver was wrapped after `lean_resolvers` (by the access policy, say) is no longer
    a `LeafRead`, so its wrapper always runs.

    A `FieldCall` field still gets its path and resolve info (its resolver may read
    them), and its wrappers run; what it skips is graphql-core's lookups of the field and
    its nodes, the coercion of its arguments on every row and the dispatch on the return
    type, as a page's rows do.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # graphql-core hands resolvers this context's own bound methods, a cycle that would
        # leave the whole request (context, loaders, records) to the cycle collector:
        # collected hundreds of requests at a time, that cost ~15% of a query's CPU.
        this = weakref.ref(self)
        self.async_helpers = GraphQLResolveInfoHelpers(
            gather=lambda values: _alive(this).gather_async_work(values),
            track=lambda values: _alive(this).track_async_work(values),
        )
        # Middleware wraps every resolver, plain reads too: with any, take the long way.
        manager = self.middleware_manager
        self._short_way = not (manager and manager.middlewares)
        self.is_awaitable = awaitable  # type: ignore[assignment]
        # Per selection: the selection (kept alive, so that its id is not reused) and its
        # fields with the `LeafRead` of each that is one.
        self._plans: dict[tuple[GraphQLObjectType, int], tuple[Any, _Plan]] = {}
        # Without the `@stream` directive in the schema, validation refuses it: no list
        # is streamed, and graphql-core need not look for it on every list of every row.
        self._may_stream = GraphQLStreamDirective in self.schema.directives
        # Nor is any selection deferred without `@defer`: an object's fields are then
        # collected once per selection and executed straight from its plan, without
        # graphql-core's incremental bookkeeping on every row.
        self._may_defer = GraphQLDeferDirective in self.schema.directives
        self._subplans: dict[tuple[GraphQLObjectType, int], tuple[FieldDetailsList, _Plan]] = {}

    def get_stream_usage(self, field_details_list: FieldDetailsList, path: Path) -> Any:
        if not self._may_stream:
            return None
        return super().get_stream_usage(field_details_list, path)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's `execute_fields`, with a `LeafRead` answered in the loop."""
        if not self._short_way:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        return self._execute_plan(
            parent_type, source_value, path, self._plan(parent_type, grouped_field_set),
            position_context,
        )  # fmt: skip

    def _execute_plan(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        plan: _Plan,
        position_context: Any,
    ) -> Any:
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        type_name = parent_type.name
        try:
            for response_name, field_details_list, read in plan:
                if type(read) is LeafRead:
                    value = _read(read, source_value)
                    if value is not _NOT_PLAIN:
                        results[response_name] = value
                        continue
                # Path's own constructor is a Python function; this is the tuple it makes.
                field_path = tuple.__new__(Path, (path, response_name, type_name))
                if type(read) is FieldCall:
                    result = self._execute_call(
                        read, parent_type, source_value, field_details_list, field_path,
                        position_context,
                    )  # fmt: skip
                else:
                    result = self.execute_field(
                        parent_type, source_value, field_details_list, field_path,
                        position_context,
                    )  # fmt: skip
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                # Settle what other fields started: they may fail too.
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> _Plan:
        key = (parent_type, id(grouped_field_set))
        kept = self._plans.get(key)
        if kept is not None:
            return kept[1]
        plan: _Plan = []
        for response_name, field_details_list in grouped_field_set.items():
            field = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
            read: LeafRead | FieldCall | None = None
            if field is not None:
                read = getattr(field.resolve, "leaf_read", None) or self._field_call(
                    field, field_details_list, parent_type
                )
            plan.append((response_name, field_details_list, read))
        self._plans[key] = (grouped_field_set, plan)
        return plan

    def _field_call(
        self,
        field: GraphQLField,
        field_details_list: FieldDetailsList,
        parent_type: GraphQLObjectType,
    ) -> FieldCall | None:
        kind = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        object_type = kind if isinstance(kind, GraphQLObjectType) else None
        leaf = kind if is_leaf_type(kind) else None
        if object_type is None and leaf is None:
            return None
        first = field_details_list[0]
        arguments: dict[str, Any] = {}
        if field.args or first.node.arguments:
            try:
                arguments = get_argument_values(
                    field, first.node, self.variable_values,
                    first.fragment_variable_values, self.hide_suggestions,
                )  # fmt: skip
            except Exception:
                return None  # graphql-core's way reports it, on each row as it would
        nodes = [details.node for details in field_details_list]
        resolve = field.resolve or self.field_resolver
        template = self.build_resolve_info(field, nodes, parent_type, Path(None, "", None))
        fields: tuple[str, ...] = getattr(template, "_fields", ())
        if "path" not in fields:
            return FieldCall(field, nodes, resolve, object_type, leaf, arguments, None, (), ())
        at = fields.index("path")
        return FieldCall(
            field, nodes, resolve, object_type, leaf, arguments,
            type(template), template[:at], template[at + 1 :],
        )  # fmt: skip

    def _execute_call(
        self,
        read: FieldCall,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        """graphql-core's `execute_field` then `complete_value` for a `FieldCall`, from
        what the call already knows. What is not a plain object or leaf value (None, an
        exception, an awaitable, a value the scalar turns to nothing) takes graphql-core's
        own completion, which reports it as usual."""
        return_type: GraphQLOutputType = read.field.type
        info: GraphQLResolveInfo[Any]
        info_class = read.info_class
        if info_class is not None:  # as `build_resolve_info` makes it, from the rest kept
            # Concatenated: faster than unpacking into a display, and this runs per row.
            info = tuple.__new__(info_class, read.before_path + (path,) + read.after_path)  # type: ignore[assignment]  # noqa: RUF005
        else:
            info = self.build_resolve_info(read.field, read.nodes, parent_type, path)
        try:
            result = read.resolve(source, info, **read.arguments)
            if self.is_awaitable(result):
                return self.complete_awaitable_value(
                    return_type, field_details_list, info, path, result, position_context
                )
            if result is None or result is Undefined or isinstance(result, Exception):
                completed = self.complete_value(
                    return_type, field_details_list, info, path, result, position_context
                )
            elif read.leaf is not None:
                completed = read.leaf.coerce_output_value(result)
                if completed is None or completed is Undefined:  # graphql-core's error
                    completed = self.complete_value(
                        return_type, field_details_list, info, path, result, position_context
                    )
            else:
                object_type = cast(GraphQLObjectType, read.object_type)
                completed = self._complete_object(
                    object_type, field_details_list, info, path, result, position_context
                )
            if self.is_awaitable(completed):
                return self._await_completed(completed, return_type, field_details_list, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        return completed

    def complete_list_item_value(
        self,
        item: Any,
        complete_results: list[Any],
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        item_path: Path,
        position_context: Any,
    ) -> bool:
        """graphql-core's, with a row of an object type (a page's edges) completed
        without its dispatch on the type; anything else takes graphql-core's way."""
        kind = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if (
            not self._short_way
            or not isinstance(kind, GraphQLObjectType)
            or item is None
            or isinstance(item, Exception)
        ):
            return super().complete_list_item_value(
                item, complete_results, item_type, field_details_list, info, item_path,
                position_context,
            )  # fmt: skip
        try:
            completed = self._complete_object(
                kind, field_details_list, info, item_path, item, position_context
            )
            if self.is_awaitable(completed):
                complete_results.append(
                    self._await_completed(completed, item_type, field_details_list, item_path)
                )
                return True
            complete_results.append(completed)
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, field_details_list, item_path)
            complete_results.append(None)
        return False

    def _complete_object(
        self,
        object_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's `complete_object_value` for a value known to be there."""
        is_type_of = object_type.is_type_of
        if is_type_of is not None:
            fits = is_type_of(result, info)
            if self.is_awaitable(fits):  # graphql-core's own way awaits it
                if isinstance(fits, CoroutineType):
                    fits.close()
                return self.complete_object_value(
                    object_type, field_details_list, info, path, result, position_context
                )
            if not fits:
                raise invalid_return_type_error(object_type, result, field_details_list)
        if self._may_defer:
            return self.collect_and_execute_subfields(
                object_type, field_details_list, path, result, position_context
            )
        return self._execute_plan(
            object_type, result, path, self._subplan(object_type, field_details_list),
            position_context,
        )  # fmt: skip

    def _subplan(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> _Plan:
        """The plan of an object's selection, as `collect_and_execute_subfields` would
        collect it (no selection is deferred), kept per selection like graphql-core's own."""
        key = (object_type, id(field_details_list))
        kept = self._subplans.get(key)
        if kept is not None:
            return kept[1]
        grouped_field_set = self.collect_subfields(object_type, field_details_list)[0]
        plan = self._plan(object_type, grouped_field_set)
        self._subplans[key] = (field_details_list, plan)
        return plan

    async def _await_completed(
        self,
        completed: Any,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None


def _alive(this: weakref.ref[LeanExecution]) -> LeanExecution:
    execution = this()
    assert execution is not None  # a resolver runs while its execution does
    return execution


_Plan = list[tuple[str, FieldDetailsList, LeafRead | FieldCall | None]]
_NOT_PLAIN = object()
# graphql-core's own scalars that give back a value of exactly this type as it is (its
# Int checks a range, its Float finiteness: those are coerced every time).
SPECIFIED: dict[str, GraphQLLeafType] = dict(specified_scalar_types)
UNCHANGED: dict[str, type] = {"String": str, "ID": str, "Boolean": bool}


def _read(read: LeafRead, source: Any) -> Any:
    """The field's value read and coerced; `_NOT_PLAIN` where graphql-core's own way must
    answer (and report) it."""
    try:
        value = read.read(source)
    except Exception:  # graphql-core's way reports it, located
        return _NOT_PLAIN
    kind = type(value)
    if kind is read.unchanged:
        return value
    if kind is read.enum:
        name = read.names.get(value)
        if name is not None:
            return name
    if value is None:
        return None if read.nullable else _NOT_PLAIN
    try:
        coerced = read.leaf.coerce_output_value(value)
    except Exception:
        if isinstance(value, CoroutineType):
            value.close()  # the long way makes and awaits its own
        return _NOT_PLAIN
    return _NOT_PLAIN if coerced is None or coerced is Undefined else coerced


# Types none of whose instances can be awaited, learnt as values of them are seen.
_NEVER_AWAITED: set[type] = {type(None), bool, int, float, str, list, dict}


def awaitable(value: Any) -> bool:
    """graphql-core's `is_awaitable`, answered from the value's type once it is known.

    graphql-core asks it of every value a field resolves to, and answers with
    `hasattr(value, "__await__")`: on a pydantic record, whose `__getattr__` raises for a
    missing name, that is ~1.6 µs, several times the rest of a plain field's cost. `await`
    looks `__await__` up on the type, never the instance, so a type without it (and not a
    coroutine or an iterable-coroutine generator, which are told apart per value) has no
    awaitable instance."""
    kind = type(value)
    if kind in _NEVER_AWAITED:
        return False
    if isinstance(value, CoroutineType):
        return True
    if isinstance(value, GeneratorType):
        return bool(value.gi_code.co_flags & CO_ITERABLE_COROUTINE)
    if hasattr(kind, "__await__"):
        return True
    _NEVER_AWAITED.add(kind)
    return False


def lean_resolvers(schema: Schema) -> int:
    """Give every eligible field of `schema` a direct resolver; how many were replaced."""
    if schema.exception_handlers or schema.config.default_resolver is not getattr:
        return 0
    subscription = schema._schema.subscription_type
    replaced = 0
    for type_name, kind in schema._schema.type_map.items():
        if type_name.startswith("__") or not isinstance(kind, GraphQLObjectType):
            continue
        if kind is subscription:
            continue  # its fields resolve through `subscribe`
        for graphql_field in kind.fields.values():
            lean = _lean(graphql_field, schema)
            if lean is not None:
                graphql_field.resolve = lean
                replaced += 1
    return replaced


def _lean(graphql_field: GraphQLField, schema: Schema) -> Resolve | None:
    info_class = schema.config.info_class
    extensions = graphql_field.extensions or {}
    field = extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(field, StrawberryField) or field.extensions:
        return None
    if type(field).get_result is not StrawberryField.get_result:
        return None
    resolver = field.base_resolver
    if resolver is None:
        return None if graphql_field.args else _attribute(field.python_name, graphql_field)
    if resolver.parent_parameter is not None or resolver.root_parameter is not None:
        return None  # rare here; strawberry's own resolver passes those
    call = resolver.wrapped_func
    if not callable(call):
        return None
    info_parameter = resolver.info_parameter
    info_name = info_parameter.name if info_parameter is not None else None
    with_self = resolver.self_parameter is not None
    if graphql_field.args:
        names = _plain_arguments(field, graphql_field, schema)
        if names is None or not with_self or info_name is None:
            return None

        def with_arguments(source: Any, info: GraphQLResolveInfo[Any], **given: Any) -> Any:
            kwargs = {python: given[name] for name, python in names if name in given}
            kwargs[info_name] = info_class(_raw_info=info, _field=field)
            return call(source, **kwargs)

        return with_arguments
    if with_self and info_name is not None:

        def source_and_info(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
            return call(source, **{info_name: info_class(_raw_info=info, _field=field)})

        return source_and_info
    if with_self:

        def source_only(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
            return call(source)

        if not inspect.iscoroutinefunction(call):
            _mark_leaf_read(source_only, call, graphql_field)
        return source_only
    if info_name is not None:
        return lambda source, info: call(**{info_name: info_class(_raw_info=info, _field=field)})
    return lambda source, info: call()


def _plain_arguments(
    field: StrawberryField, graphql_field: GraphQLField, schema: Schema
) -> list[tuple[str, str]] | None:
    """(GraphQL name, Python name) of each argument, when every one is a scalar that
    strawberry passes on as graphql-core coerced it (not a global id, an enum, a list, an
    input object or a `Maybe`): then converting the arguments is renaming them."""
    registry = schema.schema_converter.scalar_registry
    names: list[tuple[str, str]] = []
    for argument in field.arguments:
        kind: Any = argument.type
        if isinstance(kind, StrawberryMaybe):
            return None
        if isinstance(kind, StrawberryOptional):
            kind = kind.of_type
        if kind is GlobalID or not is_scalar(kind, registry):
            return None
        names.append((schema.config.name_converter.from_argument(argument), argument.python_name))
    if {name for name, _ in names} != set(graphql_field.args):
        return None
    return names


def _attribute(name: str, graphql_field: GraphQLField) -> Resolve:
    def read(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        return getattr(source, name)

    _mark_leaf_read(read, attrgetter(name), graphql_field)
    return read


def _mark_leaf_read(
    resolve: Resolve, read: Callable[[Any], Any], graphql_field: GraphQLField
) -> None:
    """Mark `resolve` as the `LeafRead` `read`, if the field is of a scalar or enum type."""
    kind = graphql_field.type
    nullable = not isinstance(kind, GraphQLNonNull)
    leaf = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
    if is_leaf_type(leaf):
        unchanged = UNCHANGED.get(leaf.name) if leaf is SPECIFIED.get(leaf.name) else None
        enum, names = _enum_names(leaf)
        resolve.leaf_read = LeafRead(read, leaf, nullable, unchanged, enum, names)  # type: ignore[attr-defined]


def _enum_names(leaf: GraphQLLeafType) -> tuple[type | None, dict[Any, str]]:
    """A strawberry enum's class and its members' names, as its coercion gives them."""
    if not isinstance(leaf, CustomGraphQLEnumType):
        return None, {}
    enum: Any = leaf.wrapped_cls
    names: dict[Any, str] = {}
    for member in enum:
        try:
            names[member] = leaf.coerce_output_value(member)
        except Exception:  # a member without a name: coerced per row, as before
            continue
    return enum, names
