"""The parts of a table description a partition server needs, and key handling against it.

Pure: parses the router-owned ``TableDescription`` dict, validates request keys and items' key
attributes with DynamoDB's messages, encodes/decodes storage keys, and refuses keys whose
partition-key hash is in another partition's slots (:class:`WrongPartitionException`).

The common key shapes (a non-empty S, a canonical integer N) take a fast path; anything else goes
through the general validation, so answers and messages are the same either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kumo_tablestore import keys, ttl
from kumo_tablestore.errors import DynamoError, ValidationException
from kumo_tablestore.expressions import KeySchema
from kumo_tablestore.partitioning import SlotMap, key_hash
from kumo_tablestore.protocol import MISDIRECTED
from kumo_tablestore.values import Item, type_of, validate_value, value_size

MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
_PARAM = "One or more parameter values were invalid: "
KEY_MISMATCH = "The provided key element does not match the schema"
WRONG_PARTITION_TYPE = "com.kumo#WrongPartitionException"


class WrongPartitionException(DynamoError):
    """The key hashes to a slot this partition does not own: the router's slot map is stale (421)."""

    def __init__(self, message: str) -> None:
        super().__init__("WrongPartitionException", message, MISDIRECTED)

    @property
    def aws_type(self) -> str:
        return WRONG_PARTITION_TYPE


@dataclass(frozen=True)
class TableMeta:
    """One table's key schema, TTL attribute and this partition's throughput share."""

    description: dict[str, Any]
    name: str
    pk: str
    pk_type: str
    sk: str | None
    sk_type: str | None
    ttl_attribute: str | None
    #: Per-partition ``(read, write)`` units per second when PROVISIONED, else ``None``.
    provisioned: tuple[float, float] | None
    partition_count: int
    partition_index: int
    #: Which partition owns which slots; ``None`` when this partition owns every key.
    slot_map: SlotMap | None = None
    #: Per-partition ``(read, write)`` units per second of each GSI when the table is PROVISIONED.
    gsi_provisioned: dict[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def from_description(cls, desc: Any) -> TableMeta:
        """Parse a description; a malformed one raises :class:`ValidationException`."""
        if not isinstance(desc, dict):
            raise ValidationException("Table description must be a JSON object")
        name = desc.get("TableName")
        if not isinstance(name, str) or not name:
            raise ValidationException("Table description needs a TableName")
        types = {}
        for d in desc.get("AttributeDefinitions") or []:
            if isinstance(d, dict):
                types[d.get("AttributeName")] = d.get("AttributeType")
        hash_name = range_name = None
        for k in desc.get("KeySchema") or []:
            if not isinstance(k, dict):
                continue
            if k.get("KeyType") == "HASH":
                hash_name = k.get("AttributeName")
            elif k.get("KeyType") == "RANGE":
                range_name = k.get("AttributeName")
        if not isinstance(hash_name, str) or types.get(hash_name) not in ("S", "N", "B"):
            raise ValidationException("Table description needs a HASH key with an S, N or B attribute definition")
        if range_name is not None and (not isinstance(range_name, str) or types.get(range_name) not in ("S", "N", "B")):
            raise ValidationException("Table description's RANGE key needs an S, N or B attribute definition")
        ttl_desc = desc.get("TimeToLiveDescription") or {}
        ttl_attr = None
        if isinstance(ttl_desc, dict) and ttl_desc.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            ttl_attr = ttl_desc.get("AttributeName") or None
        count = _int(desc.get("PartitionCount", 1), 1)
        index = _int(desc.get("PartitionIndex", 0), 0)
        provisioned = _provisioned_share(desc, count)
        return cls(
            slot_map=_slot_map(desc.get("SlotMap"), count, index),
            description=desc,
            name=name,
            pk=hash_name,
            pk_type=types[hash_name],
            sk=range_name,
            sk_type=types.get(range_name) if range_name else None,
            ttl_attribute=ttl_attr,
            provisioned=provisioned,
            partition_count=count,
            partition_index=index,
            gsi_provisioned=_gsi_shares(desc, count) if provisioned is not None else {},
        )

    @property
    def key_names(self) -> tuple[str, ...]:
        return (self.pk, self.sk) if self.sk else (self.pk,)

    @property
    def schema(self) -> KeySchema:
        return KeySchema(self.pk, self.pk_type, self.sk, self.sk_type)

    # ---- keys ----------------------------------------------------------------------------------

    def check_owner(self, pk_enc: bytes) -> None:
        """Raise :class:`WrongPartitionException` unless this partition owns ``pk_enc``'s slot."""
        slot_map = self.slot_map
        if slot_map is None:
            return
        slot = key_hash(pk_enc) * slot_map.slots >> 64
        if slot_map.partition_of_slot(slot) != self.partition_index:
            raise WrongPartitionException(
                f"Partition {self.partition_index} of table {self.name} does not own this key "
                f"(slot {slot}): the slot map is stale"
            )

    def encode_request_key(self, key: Any, label: str = "Key", *, check_owner: bool = True) -> tuple[bytes, Item]:
        """Validate a ``Key`` map (exactly the key attributes, right types); ``(storage key, key)``.

        ``check_owner``: refuse a key of another partition (off for a Scan's ``ExclusiveStartKey``).
        """
        fast = self._fast_key(key) if type(key) is dict and len(key) == len(self.key_names) else None
        if fast is not None:
            pk_enc, table_key, canonical = fast
        else:
            table_key, canonical = self._encode_request_key(key)
            pk_enc = keys.split_table_key(table_key)[0] if self.slot_map is not None else b""
        if check_owner:
            self.check_owner(pk_enc)
        return table_key, canonical

    def encode_item_key(self, item: Item) -> tuple[bytes, Item]:
        """Storage key and key attributes of a validated item (PutItem's checks and messages)."""
        fast = self._fast_key(item)
        if fast is not None:
            pk_enc, table_key, canonical = fast
        else:
            table_key, canonical = self._encode_item_key(item)
            pk_enc = keys.split_table_key(table_key)[0] if self.slot_map is not None else b""
        self.check_owner(pk_enc)
        return table_key, canonical

    def _fast_key(self, attrs: dict[str, Any]) -> tuple[bytes, bytes, Item] | None:
        """``(pk encoding, storage key, key attributes)`` for the common shapes, else ``None``."""
        pk_value = attrs.get(self.pk)
        pk_enc = _fast_encode(pk_value, self.pk_type, MAX_PARTITION_KEY_BYTES)
        if pk_enc is None:
            return None
        if self.sk is None:
            return pk_enc, keys.table_key(pk_enc), {self.pk: pk_value}
        sk_value = attrs.get(self.sk)
        sk_enc = _fast_encode(sk_value, self.sk_type, MAX_SORT_KEY_BYTES)
        if sk_enc is None:
            return None
        return pk_enc, keys.table_key(pk_enc, sk_enc), {self.pk: pk_value, self.sk: sk_value}

    def _encode_request_key(self, key: Any) -> tuple[bytes, Item]:
        if not isinstance(key, dict) or set(key) != set(self.key_names):
            raise ValidationException(KEY_MISMATCH)
        canonical: Item = {}
        for name, want in zip(self.key_names, self._types(), strict=True):
            value = validate_value(key[name])
            if type_of(value) != want:
                raise ValidationException(KEY_MISMATCH)
            canonical[name] = value
        return self._encode(canonical), canonical

    def _encode_item_key(self, item: Item) -> tuple[bytes, Item]:
        canonical: Item = {}
        for name, want in zip(self.key_names, self._types(), strict=True):
            value = item.get(name)
            if value is None:
                raise ValidationException(_PARAM + f"Missing the key {name} in the item")
            actual = type_of(value)
            if actual != want:
                raise ValidationException(_PARAM + f"Type mismatch for key {name} expected: {want} actual: {actual}")
            canonical[name] = value
        return self._encode(canonical), canonical

    def _types(self) -> tuple[str, ...]:
        return (self.pk_type, self.sk_type) if self.sk else (self.pk_type,)  # type: ignore[return-value]

    def _encode(self, key: Item) -> bytes:
        for name in self.key_names:
            value = key[name]
            t = type_of(value)
            if t in ("S", "B") and value[t] == "":
                raise ValidationException(
                    "One or more parameter values are not valid. The AttributeValue for a key attribute "
                    f"cannot contain an empty {'string' if t == 'S' else 'binary'} value. Key: {name}"
                )
        if value_size(key[self.pk]) > MAX_PARTITION_KEY_BYTES:
            raise ValidationException(_PARAM + "Size of hashkey has exceeded the maximum size limit of2048 bytes")
        if self.sk and value_size(key[self.sk]) > MAX_SORT_KEY_BYTES:
            raise ValidationException(
                _PARAM + "Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
            )
        sk = keys.encode_value(key[self.sk]) if self.sk else None
        return keys.table_key(keys.encode_value(key[self.pk]), sk)

    def key_of(self, item: Item) -> Item:
        """The key attributes of a stored item."""
        return {name: item[name] for name in self.key_names}

    def decode_key(self, key: bytes) -> Item:
        """Wire-form key map of a storage key."""
        return keys.decode_key(key, self.pk, self.sk)

    def expiry(self, item: Item, now: float) -> int | None:
        """When ``item`` expires under this table's TTL setting (``None``: never)."""
        return ttl.expiry_of(item, self.ttl_attribute, now)


def _fast_encode(value: Any, want: str | None, max_bytes: int) -> bytes | None:
    """Key encoding of a non-empty S within ``max_bytes`` or a canonical integer N; else ``None``."""
    if type(value) is not dict or len(value) != 1:
        return None
    raw = value.get(want)
    if type(raw) is not str or not raw:
        return None
    if want == "S":
        try:
            data = raw.encode()
        except UnicodeEncodeError:  # lone surrogates: the general path decides
            return None
        return b"S" + data if len(data) <= max_bytes else None
    if want == "N":
        return keys.encode_plain_int(raw)
    return None


def _slot_map(value: Any, count: int, index: int) -> SlotMap | None:
    """The description's ``SlotMap`` (JSON text or object; default: even over ``PartitionCount``),
    or ``None`` when partition ``index`` owns every slot."""
    try:
        if value is None:
            slot_map = SlotMap.even(count)
        elif isinstance(value, str):
            slot_map = SlotMap.from_json(value)
        elif isinstance(value, dict):
            slot_map = SlotMap.from_dict(value)
        else:
            raise ValueError("not JSON text or an object")
    except ValueError as exc:
        raise ValidationException(f"Table description has an invalid SlotMap: {exc}") from None
    if all(r.partition == index for r in slot_map.ranges):
        return None
    return slot_map


def _int(value: Any, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValidationException(f"Table description has an invalid partition number: {value!r}")
    return value


def _provisioned_share(desc: dict[str, Any], partitions: int) -> tuple[float, float] | None:
    """This partition's share of provisioned throughput (DynamoDB splits it evenly)."""
    mode = (desc.get("BillingModeSummary") or {}).get("BillingMode")
    throughput = desc.get("ProvisionedThroughput") or {}
    rcu = throughput.get("ReadCapacityUnits") or 0
    wcu = throughput.get("WriteCapacityUnits") or 0
    if mode == "PAY_PER_REQUEST" or (mode is None and not (rcu or wcu)):
        return None
    if not isinstance(rcu, int | float) or not isinstance(wcu, int | float):
        raise ValidationException("Table description has invalid ProvisionedThroughput")
    return rcu / partitions, wcu / partitions


def _gsi_shares(desc: dict[str, Any], partitions: int) -> dict[str, tuple[float, float]]:
    """This partition's share of each GSI's provisioned throughput (a GSI without one: none)."""
    out: dict[str, tuple[float, float]] = {}
    for index in desc.get("GlobalSecondaryIndexes") or []:
        if not isinstance(index, dict) or not isinstance(index.get("IndexName"), str):
            continue
        throughput = index.get("ProvisionedThroughput") or {}
        rcu = throughput.get("ReadCapacityUnits") or 0
        wcu = throughput.get("WriteCapacityUnits") or 0
        if not isinstance(rcu, int | float) or not isinstance(wcu, int | float):
            raise ValidationException("Table description has an invalid index ProvisionedThroughput")
        if rcu or wcu:
            out[index["IndexName"]] = (rcu / partitions, wcu / partitions)
    return out
