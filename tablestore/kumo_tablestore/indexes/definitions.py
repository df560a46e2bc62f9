"""Index definitions read from the table description, and the entries an item gives them (pure).

An index entry is stored under ``name + 00 + escape(index pk) [+ escape(index sk)] + base table key``:
entries of one index-key value are contiguous, ordered by index sort key and then by the base key
(so several items with equal index keys each have their own entry, in a stable order). The value is
the item projected as the index says (table keys and index keys are always projected).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from kumo_tablestore import keys
from kumo_tablestore.errors import ValidationException
from kumo_tablestore.expressions import KeySchema
from kumo_tablestore.values import Item

#: LMDB keys are at most 511 bytes; longer entry keys keep a prefix and a digest of the rest.
MAX_ENTRY_KEY = 511
_DIGEST = 16
_KEEP = MAX_ENTRY_KEY - _DIGEST


@dataclass(frozen=True)
class IndexDef:
    """One LSI or GSI of a table."""

    name: str
    kind: str  # "GSI" or "LSI"
    pk: str
    pk_type: str
    sk: str | None
    sk_type: str | None
    projection: str  # ALL, KEYS_ONLY, INCLUDE
    non_key: tuple[str, ...]
    #: The table's key attribute names (always projected, part of LastEvaluatedKey).
    table_keys: tuple[str, ...]

    @property
    def prefix(self) -> bytes:
        return self.name.encode() + b"\x00"

    @property
    def schema(self) -> KeySchema:
        return KeySchema(self.pk, self.pk_type, self.sk, self.sk_type)

    @property
    def key_names(self) -> tuple[str, ...]:
        """Attributes of an index ``LastEvaluatedKey``: the table's keys and the index's keys."""
        own = (self.pk,) if self.sk is None else (self.pk, self.sk)
        return self.table_keys + tuple(n for n in own if n not in self.table_keys)

    def index_key_values(self, item: Item | None) -> tuple[bytes, bytes | None] | None:
        """``(pk_enc, sk_enc)`` of the item's index keys; ``None`` when the item is not in the index.

        Sparse: an item without an index key attribute, or with one of another type, has no entry.
        """
        if not item:
            return None
        pv = item.get(self.pk)
        if not isinstance(pv, dict) or self.pk_type not in pv:
            return None
        sk_enc = None
        if self.sk is not None:
            sv = item.get(self.sk)
            if not isinstance(sv, dict) or self.sk_type not in sv:
                return None
            try:
                sk_enc = keys.encode_value(sv)
            except ValidationException:
                return None
        try:
            return keys.encode_value(pv), sk_enc
        except ValidationException:
            return None

    def entry_key(self, item: Item | None, base_key: bytes) -> bytes | None:
        """The entry key of ``item`` (whose table key is ``base_key``), ``None`` if not indexed."""
        found = self.index_key_values(item)
        if found is None:
            return None
        pk_enc, sk_enc = found
        key = self.prefix + keys.escape(pk_enc) + (keys.escape(sk_enc) if sk_enc is not None else b"") + base_key
        return fit(key)

    def project(self, item: Item) -> Item:
        """The item as the index stores it."""
        if self.projection == "ALL":
            return item
        wanted = set(self.key_names)
        if self.projection == "INCLUDE":
            wanted.update(self.non_key)
        return {k: v for k, v in item.items() if k in wanted}

    def key_of(self, item: Item) -> Item:
        """The ``LastEvaluatedKey`` of an index entry's item."""
        return {k: item[k] for k in self.key_names if k in item}


def fit(key: bytes) -> bytes:
    """An entry key LMDB can store: keys over 511 bytes keep 495 bytes and a 16-byte digest of the whole.

    Order stays exact except among entries sharing their first 495 bytes (see docs/indexes.md).
    """
    if len(key) <= MAX_ENTRY_KEY:
        return key
    return key[:_KEEP] + hashlib.blake2b(key, digest_size=_DIGEST).digest()


def index_pk(entry_key: bytes, index: IndexDef) -> bytes:
    """The encoded index partition-key value of an entry key (for scan segments)."""
    return keys.unescape(entry_key[len(index.prefix) :])[0]


def parse_indexes(description: dict[str, Any], table_keys: tuple[str, ...]) -> dict[str, IndexDef]:
    """Every index of a table description by name (``GlobalSecondaryIndexes``, ``LocalSecondaryIndexes``)."""
    types = {
        d.get("AttributeName"): d.get("AttributeType")
        for d in description.get("AttributeDefinitions") or []
        if isinstance(d, dict)
    }
    out: dict[str, IndexDef] = {}
    for field, kind in (("GlobalSecondaryIndexes", "GSI"), ("LocalSecondaryIndexes", "LSI")):
        for raw in description.get(field) or []:
            if not isinstance(raw, dict) or not isinstance(raw.get("IndexName"), str):
                continue
            schema = {e.get("KeyType"): e.get("AttributeName") for e in raw.get("KeySchema") or []}
            pk, sk = schema.get("HASH"), schema.get("RANGE")
            if not isinstance(pk, str) or types.get(pk) not in ("S", "N", "B"):
                raise ValidationException(f"Index {raw['IndexName']} needs a HASH key with an attribute definition")
            projection = raw.get("Projection") or {}
            out[raw["IndexName"]] = IndexDef(
                name=raw["IndexName"],
                kind=kind,
                pk=pk,
                pk_type=types[pk],
                sk=sk,
                sk_type=types.get(sk) if sk else None,
                projection=projection.get("ProjectionType", "ALL"),
                non_key=tuple(projection.get("NonKeyAttributes") or ()),
                table_keys=table_keys,
            )
    return out


def require_index(indexes: dict[str, IndexDef], name: Any) -> IndexDef:
    """The named index, or DynamoDB's ValidationException."""
    if not isinstance(name, str) or name not in indexes:
        raise ValidationException(f"The table does not have the specified index: {name}")
    return indexes[name]
