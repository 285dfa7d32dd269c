"""Trusted documents: operations persisted ahead of time, by the hash of their text.

A manifest is JSON, `{"sha256:<hex>": "<document>"}`, built from `.graphql` files by
`psgraph documents build DIR` (each file's text, hashed as UTF-8). A request names one:

- `{"documentId": "sha256:<hex>", "variables": ...}` (GraphQL over HTTP's persisted
  documents; `documentId` as a query parameter with GET);
- Apollo's automatic persisted queries: `extensions.persistedQuery.sha256Hash`, the bare
  hex. Only the manifest is looked in: a hash sent with its document is checked against
  it, but does not make the document trusted.

An id the manifest lacks is `PERSISTED_QUERY_NOT_FOUND`. A caller with a role listed in
`only_trusted_roles` may run only documents in the manifest, whether named by id or sent
in full; any other is `UNTRUSTED_DOCUMENT`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
UNTRUSTED_DOCUMENT = "UNTRUSTED_DOCUMENT"
DOCUMENT_ID = "documentId"  # where the HTTP view puts a request's documentId


def document_id(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_manifest(directory: Path) -> dict[str, str]:
    """Every `.graphql` file under `directory`, by its id, in file-name order."""
    texts = (path.read_text("utf-8") for path in sorted(directory.rglob("*.graphql")))
    return {document_id(text): text for text in texts}


def load_manifest(path: Path) -> dict[str, str]:
    found = json.loads(path.read_text("utf-8"))
    if not isinstance(found, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in found.items()
    ):
        raise ValueError(f"{path}: a manifest maps document ids to document texts")
    return found


@dataclass(frozen=True)
class TrustedDocuments:
    documents: Mapping[str, str] = field(default_factory=dict)  # id -> text
    only_trusted_roles: frozenset[str] = frozenset()

    def trusted(self, text: str) -> bool:
        return self.documents.get(document_id(text)) == text


def _not_found(requested: str) -> GraphQLError:
    return GraphQLError(
        f"No trusted document has the id {requested!r}; send the document itself, or "
        "one of the ids in the gateway's manifest.",
        extensions={"code": PERSISTED_QUERY_NOT_FOUND},
    )


class TrustedDocumentResolver(SchemaExtension):
    """Puts the named document in place of a missing query, and refuses a document that
    is not trusted for a caller whose roles allow only trusted ones."""

    def __init__(self, trusted: TrustedDocuments) -> None:
        self._trusted = trusted

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        extensions = context.operation_extensions or {}
        requested = extensions.get(DOCUMENT_ID)
        persisted = extensions.get("persistedQuery")
        if isinstance(persisted, dict) and isinstance(persisted.get("sha256Hash"), str):
            requested = "sha256:" + persisted["sha256Hash"]
        if isinstance(requested, str):
            found = self._trusted.documents.get(requested)
            if context.query is None:
                if found is None:
                    raise _not_found(requested)
                context.query = found
            elif document_id(context.query) != requested:
                raise GraphQLError(
                    "The document sent does not match its hash.",
                    extensions={"code": PERSISTED_QUERY_NOT_FOUND},
                )
        principal = getattr(context.context, "principal", None)
        roles = principal.roles if principal is not None else frozenset()
        restricted = roles & self._trusted.only_trusted_roles
        if restricted and context.query is not None and not self._trusted.trusted(context.query):
            raise GraphQLError(
                f"Only trusted documents may run for the role {sorted(restricted)[0]!r}; "
                "send the id of a document from the gateway's manifest.",
                extensions={"code": UNTRUSTED_DOCUMENT},
            )
        yield


def trusted_documents(trusted: TrustedDocuments) -> Callable[[], SchemaExtension]:
    return lambda: TrustedDocumentResolver(trusted)
