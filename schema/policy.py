"""`gateway.auth.policy` applied to the built schema, once, at the composition root.

Each field the tables name gets its resolver wrapped:

- a root operation the caller's roles may not run raises FORBIDDEN (a mutation's data is
  then null);
- a field in a FIELD_GROUPS group the caller is not in resolves to null with a FORBIDDEN
  error at its path (a non-null list to [] with that error beside it);
- a field returning nodes (a single reference, a list, `node`, a workflow's result) keeps
  only the ones `resolvers.scope.admits`; root connections are cut at the source by their
  list resolvers instead, so pages and totalCount hold only admitted rows;
- a subscription's stream passes on only what `admits` (its event's subject, its project).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from inspect import isawaitable
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    default_field_resolver,
    get_named_type,
)

from gateway.auth.policy import (
    DENY_UNLISTED,
    FIELD_GROUPS,
    OPERATIONS,
    ROOTS,
    Rows,
    groups_of,
    may_read_field,
    may_read_groups,
    may_run,
    only_for_themselves,
)
from resolvers import ids, scope
from resolvers.context import RequestContext
from resolvers.errors import ForbiddenError, InvalidInputError
from schema.nodes import load_node

Resolve = Callable[..., Any]


def guarded_fields(schema: GraphQLSchema) -> dict[tuple[str, str], tuple[str, ...]]:
    """(type, field) -> the FIELD_GROUPS groups that field belongs to; ValueError when a
    group names a type or field the schema does not have."""
    for group_name, group in FIELD_GROUPS.items():
        for pattern in group.fields:
            type_name, _, field_name = pattern.partition(".")
            kind = schema.type_map.get(type_name)
            if not isinstance(kind, GraphQLObjectType):
                raise ValueError(f"FIELD_GROUPS[{group_name!r}]: no type {type_name}")
            if field_name != "*" and field_name not in kind.fields:
                raise ValueError(f"FIELD_GROUPS[{group_name!r}]: no field {pattern}")
    found = {
        (type_name, field_name): groups_of(type_name, field_name)
        for type_name, kind in schema.type_map.items()
        if isinstance(kind, GraphQLObjectType)
        for field_name in kind.fields
    }
    return {key: groups for key, groups in found.items() if groups}


def readable(ctx: RequestContext, type_name: str, field_name: str) -> bool:
    """Whether this request may read `Type.field`, as `apply_policy` will decide when it
    resolves: for work started before then (reads a page's rows will need)."""
    return not ctx.enforce_policy or may_read_field(ctx.principal, type_name, field_name)


def apply_policy(schema: GraphQLSchema) -> None:
    groups = guarded_fields(schema)
    for type_name, kind in schema.type_map.items():
        if type_name.startswith("__") or not isinstance(kind, GraphQLObjectType):
            continue
        for field_name, field in kind.fields.items():
            if type_name in ROOTS:
                _guard_operation(type_name, field_name, field)
            if type_name == "Subscription":
                _filter_stream(field)
            elif _returns_nodes(field) and (type_name != "Query" or field_name == "node"):
                # (the other root lists are cut at the source: resolvers.scoped_lists)
                _filter_nodes(field)
            if (type_name, field_name) in groups:
                _guard_field(type_name, field_name, field, groups[(type_name, field_name)])


def _context(info: Any) -> RequestContext:
    ctx: RequestContext = info.context
    return ctx


def _guard_operation(root: str, name: str, field: GraphQLField) -> None:
    def allowed(info: Any, arguments: dict[str, Any]) -> None:
        ctx = _context(info)
        if not ctx.enforce_policy:
            return
        if not may_run(ctx.principal, name, root):
            raise ForbiddenError(f"the caller's roles may not run {name}")
        argument = only_for_themselves(ctx.principal, name)
        if argument is not None and _resource_key(arguments.get(argument)) != (
            scope.resource_key(ctx) or ""
        ):
            raise ForbiddenError(f"the caller may run {name} only for itself ({argument})")

    if root in DENY_UNLISTED or name in OPERATIONS:
        field.resolve = _before(field.resolve or default_field_resolver, allowed)
        if field.subscribe is not None:
            field.subscribe = _before(field.subscribe, allowed)


def _resource_key(global_id: Any) -> str | None:
    try:
        return ids.decode(str(global_id), "Resource").key if global_id else None
    except InvalidInputError:
        return None


def _before(resolve: Resolve, check: Callable[[Any, dict[str, Any]], None]) -> Resolve:
    def checked(root: Any, info: Any, **arguments: Any) -> Any:
        check(info, arguments)
        return resolve(root, info, **arguments)

    return checked


def _guard_field(type_name: str, name: str, field: GraphQLField, groups: tuple[str, ...]) -> None:
    resolve = field.resolve or default_field_resolver
    empty_list = isinstance(field.type, GraphQLNonNull) and isinstance(
        field.type.of_type, GraphQLList
    )

    def guarded(root: Any, info: Any, **arguments: Any) -> Any:
        ctx = _context(info)
        if not ctx.enforce_policy or may_read_groups(ctx.principal, groups):
            return resolve(root, info, **arguments)
        denied = ForbiddenError(f"the caller's roles may not read {type_name}.{name}")
        if not empty_list:
            raise denied
        ctx.partial_errors.append(
            GraphQLError(
                str(denied),
                path=list(info.path.as_list()),
                original_error=denied,
                extensions={"code": denied.code},
            )
        )
        return []

    field.resolve = guarded


def _returns_nodes(field: GraphQLField) -> bool:
    named = get_named_type(field.type)
    if isinstance(named, GraphQLInterfaceType):
        return named.name == "Node"
    return isinstance(named, GraphQLObjectType) and named.name in ids.NODE_TYPES


def _filter_nodes(field: GraphQLField) -> None:
    resolve = field.resolve or default_field_resolver
    named = get_named_type(field.type)
    # A concrete node type lets the caller's rules be known before resolving: a caller who
    # reads every row of it gets the value as resolved, without a coroutine per row (the
    # request's kept answer looked up inline: the wrapper runs for every row).
    concrete = named.name if isinstance(named, GraphQLObjectType) else None

    async def checked(value: Any, ctx: RequestContext) -> Any:
        if isawaitable(value):
            value = await value
        if value is None:
            return value
        if isinstance(value, list):
            return [item for item in value if await scope.admits(ctx, item)]
        return value if await scope.admits(ctx, value) else None

    def admitted(root: Any, info: Any, **arguments: Any) -> Any:
        ctx: RequestContext = info.context
        value = resolve(root, info, **arguments)
        if not ctx.enforce_policy or (
            concrete is not None
            and (ctx.reads_every.get(concrete) or scope.reads_every(ctx, concrete))
        ):
            return value
        return checked(value, ctx)

    field.resolve = admitted


def _filter_stream(field: GraphQLField) -> None:
    subscribe = field.subscribe
    if subscribe is None:
        return

    async def admitted(root: Any, info: Any, **arguments: Any) -> AsyncIterator[Any]:
        stream = subscribe(root, info, **arguments)
        if isawaitable(stream):
            stream = await stream
        return _only_readable(_context(info), stream)

    field.subscribe = admitted


async def _only_readable(ctx: RequestContext, stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
    try:
        async for item in stream:
            if not ctx.enforce_policy or await _readable(ctx, item):
                yield item
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


async def readable_events(ctx: RequestContext, events: list[Any]) -> list[Any]:
    """The events whose subjects the caller may read (Query.events)."""
    if not ctx.enforce_policy:
        return events
    return [event for event in events if await _readable(ctx, event)]


async def _readable(ctx: RequestContext, item: Any) -> bool:
    """An event is readable when its subject is; one about nothing in particular only by
    those who read every workflow (the firm's staff)."""
    if type(item).__name__ != "DomainEvent":
        return await scope.admits(ctx, item)
    subject = getattr(item, "subject_id", None)
    if not subject:
        return scope.reads_every(ctx, "Workflow")
    try:
        rules = scope.narrowed(ctx, ids.decode(str(subject)).type)
        if Rows.EVERY in rules or not rules:
            return bool(rules)  # decided by the subject's type alone: nothing to load
        node = await load_node(ctx, str(subject))
    except InvalidInputError:
        return False  # not one of ours: nothing to show it to
    return node is not None and await scope.admits(ctx, node)
