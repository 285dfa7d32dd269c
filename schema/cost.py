"""Demand control: a static cost estimate of an operation, checked before anything runs.

The estimate follows what execution would ask of the sources:

- a field returning an object costs its type's weight (about one source read; types whose
  source is slow or rate limited weigh more), a scalar costs nothing;
- a connection (or a list taking `first`) multiplies what is under it by its page size
  (`first`, or the default page size), capped at the largest page; the edges of a
  connection are that page, not another multiplication; any other list counts
  `list_size` items;
- nested lists multiply: ten clients with fifty projects each is five hundred projects.

Fragments are costed once per request (memoized by name), so the estimate is linear in
the document's size whatever the spreads. An operation over the caller's limit is refused
with `COST_LIMIT`, naming the estimate (`extensions.cost`) and the limit
(`extensions.limit`); its resolvers never run, so no source is called.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_composite_type,
)

COST_LIMIT = "COST_LIMIT"


def _default_weights() -> dict[str, float]:
    # The sources behind these answer slowly or ration requests: TIME is rate limited
    # (Harvest's 100 per 15 s), HCM has no batch-by-id, ERP allows few concurrent calls.
    return {"TimeEntry": 3.0, "Expense": 3.0, "Resource": 2.0, "Invoice": 2.0}


@dataclass(frozen=True)
class CostPolicy:
    default_page_size: int = 50
    max_page_size: int = 1000
    list_size: int = 10  # items assumed for a list that is not a paged connection
    type_weights: Mapping[str, float] = field(default_factory=_default_weights)
    max_cost: int = 50_000  # for a caller none of whose roles has a limit of its own
    max_cost_by_role: Mapping[str, int] = field(default_factory=dict)

    def limit_for(self, roles: frozenset[str] | None) -> int:
        """The most a caller may spend: the largest limit among its roles."""
        limits = [self.max_cost_by_role[r] for r in roles or () if r in self.max_cost_by_role]
        return max(limits) if limits else self.max_cost


class _Estimate:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Mapping[str, Any],
        policy: CostPolicy,
    ) -> None:
        self._schema = schema
        self._variables = variables
        self._policy = policy
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._costed: dict[str, float] = {}

    def selection_set(self, selections: SelectionSetNode | None, parent: Any) -> float:
        total = 0.0
        for node in selections.selections if selections else ():
            if isinstance(node, FieldNode):
                total += self.field(node, parent)
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                inner = self._schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(node.selection_set, inner)
            elif isinstance(node, FragmentSpreadNode):
                total += self.fragment(node.name.value)
        return total

    def fragment(self, name: str) -> float:
        if name not in self._costed:
            self._costed[name] = 0.0  # a cycle (refused by validation) costs nothing more
            definition = self._fragments.get(name)
            if definition is not None:
                parent = self._schema.get_type(definition.type_condition.name.value)
                self._costed[name] = self.selection_set(definition.selection_set, parent)
        return self._costed[name]

    def field(self, node: FieldNode, parent: Any) -> float:
        fields = getattr(parent, "fields", None)
        definition = fields.get(node.name.value) if fields else None
        if definition is None or node.name.value.startswith("__"):
            return 0.0  # introspection, or a field validation refuses anyway
        named: GraphQLNamedType = get_named_type(definition.type)
        if not is_composite_type(named):
            return 0.0
        below = self.selection_set(node.selection_set, named)
        if named.name.endswith("Connection"):
            return self._page(node) * below + 1
        if isinstance(get_nullable_type(definition.type), GraphQLList):
            if isinstance(parent, GraphQLObjectType) and parent.name.endswith("Connection"):
                items = 1  # the connection's page, already counted
            elif "first" in definition.args:
                items = self._page(node)
            else:
                items = self._policy.list_size
            return items * (self._weight(named) + below)
        return self._weight(named) + below

    def _page(self, node: FieldNode) -> int:
        size = self._policy.default_page_size
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                size = int(value.value)
            elif isinstance(value, VariableNode):
                given = self._variables.get(value.name.value)
                size = given if isinstance(given, int) else size
        return max(0, min(size, self._policy.max_page_size))

    def _weight(self, named: GraphQLNamedType) -> float:
        return self._policy.type_weights.get(named.name, 1.0)


def estimate(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
    policy: CostPolicy,
) -> int:
    """The cost of the operation that would run (the most costly when none is named)."""
    estimator = _Estimate(schema, document, variables or {}, policy)
    costs = [0.0]
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name is not None and (
            definition.name is None or definition.name.value != operation_name
        ):
            continue
        root = schema.get_root_type(definition.operation)
        costs.append(estimator.selection_set(definition.selection_set, root))
    return round(max(costs))


def over_limit(cost: int, limit: int) -> GraphQLError:
    return GraphQLError(
        f"The operation's estimated cost is {cost}, over the limit of {limit}: ask for "
        "smaller pages (`first`), fewer nested lists, or split it into several operations.",
        extensions={"code": COST_LIMIT, "cost": cost, "limit": limit},
    )
