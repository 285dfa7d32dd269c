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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLField, GraphQLObjectType, GraphQLResolveInfo
from strawberry import Schema
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

__all__ = ["lean_resolvers"]

Resolve = Callable[..., Any]


def lean_resolvers(schema: Schema) -> int:
    """Give every eligible field of `schema` a direct resolver; how many were replaced."""
    if schema.exception_handlers or schema.config.default_resolver is not getattr:
        return 0
    info_class = schema.config.info_class
    subscription = schema._schema.subscription_type
    replaced = 0
    for type_name, kind in schema._schema.type_map.items():
        if type_name.startswith("__") or not isinstance(kind, GraphQLObjectType):
            continue
        if kind is subscription:
            continue  # its fields resolve through `subscribe`
        for graphql_field in kind.fields.values():
            lean = _lean(graphql_field, info_class)
            if lean is not None:
                graphql_field.resolve = lean
                replaced += 1
    return replaced


def _lean(graphql_field: GraphQLField, info_class: type) -> Resolve | None:
    extensions = graphql_field.extensions or {}
    field = extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(field, StrawberryField) or graphql_field.args:
        return None
    if field.extensions or field.arguments:
        return None
    if type(field).get_result is not StrawberryField.get_result:
        return None
    resolver = field.base_resolver
    if resolver is None:
        return _attribute(field.python_name)
    if resolver.parent_parameter is not None or resolver.root_parameter is not None:
        return None  # rare here; strawberry's own resolver passes those
    call = resolver.wrapped_func
    if not callable(call):
        return None
    info_parameter = resolver.info_parameter
    info_name = info_parameter.name if info_parameter is not None else None
    with_self = resolver.self_parameter is not None
    if with_self and info_name is not None:

        def source_and_info(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
            return call(source, **{info_name: info_class(_raw_info=info, _field=field)})

        return source_and_info
    if with_self:
        return lambda source, info: call(source)
    if info_name is not None:
        return lambda source, info: call(**{info_name: info_class(_raw_info=info, _field=field)})
    return lambda source, info: call()


def _attribute(name: str) -> Resolve:
    def read(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        return getattr(source, name)

    return read
