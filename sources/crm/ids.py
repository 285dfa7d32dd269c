"""Salesforce record ids: 15-char case-sensitive, 18-char case-insensitive with a checksum.

The API returns the 18-char form and accepts either; we normalise to 18 before using an id
as a key, so the same record never appears under two keys.
"""

from __future__ import annotations

import string

_ALPHABET = string.ascii_uppercase + "012345"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _suffix(id15: str) -> str:
    suffix = ""
    for block in range(3):
        bits = 0
        for i, char in enumerate(id15[block * 5 : block * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << i
        suffix += _ALPHABET[bits]
    return suffix


def to_18(record_id: str) -> str:
    """The 18-char form of a 15- or 18-char id; ValueError for anything else."""
    if len(record_id) == 18:
        record_id = record_id[:15]
    if len(record_id) != 15 or not record_id.isalnum():
        raise ValueError(f"not a Salesforce id: {record_id!r}")
    return record_id + _suffix(record_id)


def is_valid(record_id: str) -> bool:
    """True for a 15-char id, or an 18-char id whose checksum matches (case-insensitively)."""
    if len(record_id) == 15:
        return record_id.isalnum()
    if len(record_id) != 18 or not record_id.isalnum():
        return False
    return to_18(record_id[:15]).upper() == record_id.upper()


def make_id(prefix: str, number: int) -> str:
    """A deterministic 18-char id: 3-char object prefix, a pod code, then `number` in base 62."""
    body = ""
    n = number
    for _ in range(9):
        n, digit = divmod(n, 62)
        body = _BASE62[digit] + body
    return to_18(f"{prefix}5g0{body}")
