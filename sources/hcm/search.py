"""Workday's worker name search, shared by the sandbox and the connector's local filter.

Workday matches names only, case-insensitively, on the start of the name: we take "start"
to mean the start of any word of it, so "smi" finds "Ann Smith".
"""

from __future__ import annotations


def matches_name_search(name: str, text: str) -> bool:
    needle = text.strip().casefold()
    if not needle:
        return True
    full = name.casefold()
    return full.startswith(needle) or any(word.startswith(needle) for word in full.split())
