"""Limits that keep one query from costing the sources or the gateway too much."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QueryLimits:
    default_page_size: int = 50  # `first` when a connection is asked without it
    max_page_size: int = 1000  # the most `first` may ask for
    max_depth: int = 12  # nesting of selections
    max_aliases: int = 30
    max_tokens: int = 4000
    document_cache_size: int = 256  # parsed and validated documents kept
