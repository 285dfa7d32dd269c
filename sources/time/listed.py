"""Pages of TIME's listings, each object kept as the vendor's own JSON bytes.

A month of a firm's time is thousands of entries of ~750 bytes, each naming its client,
project, task, invoice and rates, and a dashboard reads the same month again and again
(and the firm's projects and users, ~500 KB, on every board that names them).
Decoding a page with every object left as its raw JSON (msgspec's `Raw`, a slice of the
body) only finds where each object begins and ends. The connector's `RecordMemo` keys
each object by those bytes and parses only the objects it has not seen before. A
2,000-entry page seen before went from ~5.8 ms of parsing plus ~2.9 ms of digests of its
objects dumped again to ~0.9 ms plus ~0.6 ms; an object not seen before is parsed as it
was.
"""

from __future__ import annotations

from typing import Any

import msgspec

from sources.records import Record
from sources.time.harvest import RESOURCES
from sources.time.mapping import to_record
from sources.time.paging import page_decoder

_DECODERS = {entity: page_decoder(key, msgspec.Raw) for entity, key in RESOURCES.items()}


def decode_page(entity: str, content: bytes) -> dict[str, Any]:
    """A page of `entity` as the connector reads one (`paging.page_decoder`), each object
    kept as its raw JSON."""
    return _DECODERS[entity](content)


def record_from_raw(entity: str, raw: msgspec.Raw) -> Record:
    """`mapping.to_record` of one raw object (valid JSON: its page was decoded whole)."""
    return to_record(entity, msgspec.json.decode(raw))
