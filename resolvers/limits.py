"""Limits that keep one query from costing the sources or the gateway too much."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QueryLimits:
    default_page_size: int = 50  # `first` when a connection is asked without it
    max_page_size: int = 1000  # the most `first` may ask for
    max_depth: int = 12  # nesting of selections
    max_aliases: int = 30  # counted where fragments are spread
    max_fields: int = 2000  # fields selected, fragments spread
    max_nodes: int = 5000  # selections of any kind, fragments spread
    max_tokens: int = 10_000
    max_document_bytes: int = 100_000
    max_nesting: int = 64  # brackets of any kind: selections, arguments, lists, objects
    max_string_length: int = 4096  # characters in a string argument or variable
    # Admission verdicts kept, weighed by their documents' text (parsed, each weighs
    # about a hundred times as much): the documents of a client's usual operations.
    document_cache_bytes: int = 256 * 1024
