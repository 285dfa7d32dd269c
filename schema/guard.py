"""Admission of GraphQL documents: size, depth, aliases and field count, in linear time.

A document is admitted once per distinct text and the verdict is cached:

1. its text is measured before anything else (`DOCUMENT_TOO_LARGE`: too many bytes,
   tokens or bracket levels, or a string literal longer than the input cap);
2. it is parsed, and its operations are measured visiting each fragment once
   (memoized by name), so fragments that each spread the previous one twice cost one
   visit each instead of doubling the work at every level; the expanded size, which is
   what execution would do, is what the limits compare against (`QUERY_TOO_DEEP`,
   `TOO_MANY_ALIASES`, `QUERY_TOO_COMPLEX`);
3. only an admitted document is validated against the schema.

Parsing and validating a new document runs in a worker thread, so even the largest
admissible document leaves the event loop free between interpreter switches; a cached
verdict is one dictionary look-up. Variables are checked per request: no string among
them may be longer than the input cap (`INPUT_TOO_LONG`), and the operation's estimated
cost (schema.cost) may not pass the caller's limit (`COST_LIMIT`) nor its rate (the
`throttle` hook, gateway.rate_limits).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    TokenKind,
    parse,
)
from graphql.language.lexer import Lexer
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from resolvers.limits import QueryLimits
from schema.cost import CostPolicy, estimate, over_limit

DOCUMENT_TOO_LARGE = "DOCUMENT_TOO_LARGE"
QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
INPUT_TOO_LONG = "INPUT_TOO_LONG"

_OPENERS = {TokenKind.BRACE_L, TokenKind.PAREN_L, TokenKind.BRACKET_L}
_CLOSERS = {TokenKind.BRACE_R, TokenKind.PAREN_R, TokenKind.BRACKET_R}
_STRINGS = {TokenKind.STRING, TokenKind.BLOCK_STRING}
# The rate limiter's hook (gateway.rate_limits): the request's context and the admitted
# operation's cost in, an error out when the caller must wait.
Throttle = Callable[[Any, int], Awaitable[GraphQLError | None]]
_ENTRY_WEIGHT = 200  # bytes beside the text: the verdict, its errors, the cache's entry


def rejection(code: str, message: str, **details: int) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **details})


@dataclass(frozen=True)
class Verdict:
    """A document's admission: parsed and validated, or why not; and the costs worked
    out for it lately, by operation name and variables (a dashboard asks the same
    document with the same variables over and over)."""

    document: DocumentNode | None
    errors: list[GraphQLError]
    costs: dict[tuple[str | None, tuple[tuple[str, str, Any], ...]], int] = field(
        default_factory=dict, compare=False, repr=False
    )


COSTS_KEPT = 64  # per document: past this, its costs are worked out afresh


def _scalars(variables: Mapping[str, Any] | None) -> tuple[tuple[str, str, Any], ...] | None:
    """The variables as a key, when they are all scalars (a list or an object is left
    uncached rather than frozen at the price of walking it)."""
    if not variables:
        return ()
    if all(isinstance(v, str | int | float | bool) or v is None for v in variables.values()):
        # The type too: 1, 1.0 and true are equal keys, and need not cost the same.
        return tuple(sorted((name, type(v).__name__, v) for name, v in variables.items()))
    return None


@dataclass
class Measure:
    """What executing a selection set would do, fragments expanded."""

    depth: int = 0
    fields: int = 0
    aliases: int = 0
    nodes: int = 0

    def add(self, other: Measure, *, deeper: int = 0) -> None:
        self.depth = max(self.depth, other.depth + deeper)
        self.fields += other.fields
        self.aliases += other.aliases
        self.nodes += other.nodes


class _Measurer:
    """Measures selection sets; each fragment is measured once and its measure reused
    wherever it is spread. Counts are capped just past the limit so that a fragment
    bomb's astronomically large counts stay small integers."""

    def __init__(self, document: DocumentNode, cap: int) -> None:
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._done: dict[str, Measure] = {}
        self._cap = cap

    def selection_set(self, selections: SelectionSetNode | None) -> Measure:
        measure = Measure()
        for node in selections.selections if selections else ():
            measure.nodes += 1
            if isinstance(node, FieldNode):
                # Introspection is not counted for depth, as clients that read the schema
                # nest `ofType` deeper than any data query; its size still counts.
                below = self.selection_set(node.selection_set)
                if node.name.value.startswith("__"):
                    # Introspection is not counted for depth, as clients reading the schema
                    # nest `ofType` deeper than any data query; its size still counts.
                    measure.add(Measure(0, below.fields, below.aliases, below.nodes))
                else:
                    measure.add(below, deeper=1)
                measure.fields += 1
                measure.aliases += node.alias is not None
            elif isinstance(node, InlineFragmentNode):
                measure.add(self.selection_set(node.selection_set))
            elif isinstance(node, FragmentSpreadNode):
                measure.add(self.fragment(node.name.value))
            self._clamp(measure)
        return measure

    def fragment(self, name: str) -> Measure:
        if name in self._done:
            return self._done[name]
        self._done[name] = Measure()  # a cycle (refused by validation) adds nothing
        definition = self._fragments.get(name)
        measure = self.selection_set(definition.selection_set) if definition else Measure()
        self._done[name] = measure
        return measure

    def _clamp(self, measure: Measure) -> None:
        measure.fields = min(measure.fields, self._cap)
        measure.aliases = min(measure.aliases, self._cap)
        measure.nodes = min(measure.nodes, self._cap)


def scan(text: str, limits: QueryLimits) -> GraphQLError | None:
    """The document's text against the size limits, before it is parsed."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_document_bytes:
        return rejection(
            DOCUMENT_TOO_LARGE,
            f"The document is {size} bytes; at most {limits.max_document_bytes} are accepted.",
            limit=limits.max_document_bytes,
        )
    lexer = Lexer(Source(text))
    tokens = nesting = 0
    while True:
        token = lexer.advance()  # a lexing error is raised here and answered by the parser
        if token.kind == TokenKind.EOF:
            return None
        tokens += 1
        if tokens > limits.max_tokens:
            return rejection(
                DOCUMENT_TOO_LARGE,
                f"The document has more than {limits.max_tokens} tokens; send a smaller "
                "operation (fewer fields or aliases), or pass large values as variables.",
                limit=limits.max_tokens,
            )
        if token.kind in _OPENERS:
            nesting += 1
            if nesting > limits.max_nesting:
                return rejection(
                    DOCUMENT_TOO_LARGE,
                    f"The document nests brackets more than {limits.max_nesting} levels deep.",
                    limit=limits.max_nesting,
                )
        elif token.kind in _CLOSERS:
            nesting -= 1
        elif token.kind in _STRINGS and len(token.value or "") > limits.max_string_length:
            return too_long(limits.max_string_length)


def too_long(limit: int) -> GraphQLError:
    return rejection(
        INPUT_TOO_LONG,
        f"A string argument is longer than {limit} characters, the most accepted.",
        limit=limit,
    )


def measure(document: DocumentNode, limits: QueryLimits) -> GraphQLError | None:
    """The document's operations against the depth, alias and size limits."""
    cap = max(limits.max_nodes, limits.max_fields, limits.max_aliases) + 1
    measurer = _Measurer(document, cap)
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        found = measurer.selection_set(definition.selection_set)
        name = f"Operation {definition.name.value!r}" if definition.name else "The operation"
        if found.depth > limits.max_depth:
            return rejection(
                QUERY_TOO_DEEP,
                f"{name} nests selections {found.depth} levels deep; at most "
                f"{limits.max_depth} are allowed.",
                depth=found.depth,
                limit=limits.max_depth,
            )
        if found.aliases > limits.max_aliases:
            return rejection(
                TOO_MANY_ALIASES,
                f"{name} uses more than {limits.max_aliases} aliases (fragments counted "
                "where they are spread); split it into several operations.",
                limit=limits.max_aliases,
            )
        if found.nodes > limits.max_nodes or found.fields > limits.max_fields:
            return rejection(
                QUERY_TOO_COMPLEX,
                f"{name} selects more than {limits.max_fields} fields or "
                f"{limits.max_nodes} selections once its fragments are spread; ask for "
                "less, or split it into several operations.",
                limit=limits.max_fields,
            )
    return None


def admit(text: str, schema: GraphQLSchema, limits: QueryLimits, rules: Iterable[Any]) -> Verdict:
    """The verdict on a document text: blocking, linear in the text's length until it is
    admitted, then the schema's validation rules."""
    refused = scan(text, limits)
    if refused is not None:
        return Verdict(None, [refused])
    try:
        document = parse(text, max_tokens=limits.max_tokens)
        refused = measure(document, limits)
        if refused is not None:
            return Verdict(None, [refused])
        return Verdict(document, validate_document(schema, document, tuple(rules)))
    except GraphQLError as error:
        return Verdict(None, [error])
    except RecursionError:
        # Fragments spreading fragments in a chain longer than the interpreter's stack:
        # no real client writes that.
        return Verdict(
            None,
            [
                rejection(
                    QUERY_TOO_COMPLEX, "The document's fragments spread each other too deeply."
                )
            ],
        )


def longest_string(values: Any, limit: int) -> bool:
    """Whether any string in these (JSON) variables is longer than `limit`."""
    pending = [values]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if len(value) > limit:
                return True
        elif isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


class Admissions:
    """The verdicts of the documents seen lately, keyed by a digest of their text and
    weighed by it: a parsed document weighs about a hundred times its text, and a syntax
    or validation error keeps the text or the document it is about, so the cache holds a
    budget of text rather than a count of documents."""

    def __init__(self, limits: QueryLimits) -> None:
        self.limits = limits
        self._verdicts: LRUCache[bytes, tuple[Verdict, int]] = LRUCache(
            maxsize=limits.document_cache_bytes, getsizeof=lambda entry: entry[1]
        )
        # One thread of its own: judging is CPU work, so more threads would not be faster
        # under the interpreter lock, and each would keep a malloc arena of its own.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="admission")

    async def verdict(self, text: str, schema: GraphQLSchema, rules: Iterable[Any]) -> Verdict:
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        found = self._verdicts.get(key)
        if found is not None:
            return found[0]
        verdict = await asyncio.get_running_loop().run_in_executor(
            self._worker, admit, text, schema, self.limits, tuple(rules)
        )
        weight = len(text) + _ENTRY_WEIGHT
        if weight <= self._verdicts.maxsize // 16:  # one document must not evict the rest
            self._verdicts[key] = (verdict, weight)
        return verdict


class AdmissionGuard(SchemaExtension):
    """Parses, measures and validates through the shared `Admissions`. A refused document
    never reaches strawberry's parser or validation; an admitted one arrives parsed and
    validated, its verdict reused for the next request with the same text."""

    def __init__(self, admissions: Admissions, cost: CostPolicy, throttle: Throttle | None) -> None:
        self._admissions = admissions
        self._cost = cost
        self._throttle = throttle

    async def on_parse(self) -> AsyncIterator[None]:
        context = self.execution_context
        if context.query is not None and context.graphql_document is None:
            verdict = await self._admissions.verdict(
                context.query, context.schema._schema, context.validation_rules
            )
            if verdict.document is None:
                raise verdict.errors[0]
            context.graphql_document = verdict.document
            errors = list(verdict.errors)
            limit = self._admissions.limits.max_string_length
            if not errors and longest_string(context.variables, limit):
                errors = [too_long(limit)]
            if not errors:
                errors = await self._over_budget(verdict)
            context.pre_execution_errors = errors
        yield

    async def _over_budget(self, verdict: Verdict) -> list[GraphQLError]:
        """The refusal, if the operation costs more than the caller may spend (an
        admitted verdict: its document is parsed)."""
        context = self.execution_context
        document = verdict.document
        assert document is not None
        key = _scalars(context.variables)
        cost = verdict.costs.get((context.operation_name, key)) if key is not None else None
        if cost is None:
            cost = estimate(
                context.schema._schema,
                document,
                context.variables,
                context.operation_name,
                self._cost,
            )
            if key is not None:
                if len(verdict.costs) >= COSTS_KEPT:
                    verdict.costs.clear()
                verdict.costs[(context.operation_name, key)] = cost
        principal = getattr(context.context, "principal", None)
        limit = self._cost.limit_for(principal.roles if principal is not None else None)
        if cost > limit:
            return [over_limit(cost, limit)]
        throttled = await self._throttle(context.context, cost) if self._throttle else None
        return [throttled] if throttled is not None else []


def admission_guard(
    limits: QueryLimits, cost: CostPolicy | None = None, throttle: Throttle | None = None
) -> Callable[[], SchemaExtension]:
    """The schema extension factory: one `Admissions` (and cache) per schema."""
    admissions = Admissions(limits)
    policy = cost or CostPolicy(limits.default_page_size, limits.max_page_size)
    return lambda: AdmissionGuard(admissions, policy, throttle)
