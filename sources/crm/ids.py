"""Salesforce record ids: 15-char case-sensitive, 18-char case-insensitive with a checksum.

The API returns the 18-char form and accepts either; we normalise to 18 before using an id
as a key, so the same record never appears under two keys.
"""

from __future__ import annotations

import string
from functools import lru_cache

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


# Every CRM row's ids pass through here on every read; a firm has a bounded set of them.
@lru_cache(maxsize=65_536)
def to_18(record_id: str) -> str:
    """The canonical 18-char form of a 15-char id, or of an 18-char id in any letter case."""
    if not record_id.isalnum() or len(record_id) not in (15, 18):
        raise ValueError(f"not a Salesforce id: {record_id!r}")
    if len(record_id) == 18:
        record_id = _restore_case(record_id[:15], record_id[15:].upper())
    return record_id + _suffix(record_id)


def _restore_case(id15: str, suffix: str) -> str:
    chars = []
    for block in range(3):
        bits = _ALPHABET.find(suffix[block])
        if bits < 0:
            raise ValueError(f"bad Salesforce id checksum: {suffix!r}")
        for i, char in enumerate(id15[block * 5 : block * 5 + 5]):
            chars.append(char.upper() if bits & (1 << i) else char.lower())
    return "".join(chars)


def is_valid(record_id: str) -> bool:
    """True for a 15-char id, or an 18-char id (any case) whose checksum is consistent."""
    try:
        canonical = to_18(record_id)
    except ValueError:
        return False
    return len(record_id) == 15 or canonical.upper() == record_id.upper()


def make_id(prefix: str, number: int) -> str:
    """A deterministic 18-char id: 3-char object prefix, a pod code, then `number` in base 62."""
    body = ""
    n = number
    for _ in range(9):
        n, digit = divmod(n, 62)
        body = _BASE62[digit] + body
    return to_18(f"{prefix}5g0{body}")
