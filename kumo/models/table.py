"""The `Table` resource: a DynamoDB-style table (keys, partitions, TTL, stream, billing, secondary indexes)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from kumo.models.base import API_VERSION, ObjectMeta, Spec, invalid

#: DynamoDB's table name length limits (the name is `metadata.name`).
MIN_TABLE_NAME, MAX_TABLE_NAME = 3, 255
#: DynamoDB's limits: global and local secondary indexes per table, projected non-key attributes.
MAX_GSIS, MAX_LSIS, MAX_NON_KEY_ATTRIBUTES = 20, 5, 100
INDEX_NAME_PATTERN = r"^[a-zA-Z0-9_.-]{3,255}$"


class KeyAttribute(Spec):
    """A key attribute: its name and scalar type (S string, N number, B binary)."""

    name: Annotated[str, Field(min_length=1, max_length=255)]
    type: Literal["S", "N", "B"]


class StreamSpec(Spec):
    """Change stream (DynamoDB Streams) and what each record carries."""

    view_type: Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]


class ProvisionedThroughput(Spec):
    """Capacity units for `billingMode: PROVISIONED`."""

    read_capacity_units: Annotated[int, Field(ge=1)]
    write_capacity_units: Annotated[int, Field(ge=1)]


class IndexProjection(Spec):
    """Which attributes an index copies: ALL, KEYS_ONLY, or INCLUDE (the keys and `nonKeyAttributes`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "(has(self.type) && self.type == 'INCLUDE') == has(self.nonKeyAttributes)",
                    "message": "nonKeyAttributes is required with type INCLUDE and not allowed otherwise",
                }
            ]
        }
    )

    type: Literal["ALL", "KEYS_ONLY", "INCLUDE"] = "ALL"
    non_key_attributes: (
        Annotated[
            list[Annotated[str, Field(min_length=1, max_length=255)]],
            Field(min_length=1, max_length=MAX_NON_KEY_ATTRIBUTES),
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _check(self) -> IndexProjection:
        if self.type == "INCLUDE" and not self.non_key_attributes:
            raise invalid("is required when type is INCLUDE", field="nonKeyAttributes")
        if self.type != "INCLUDE" and self.non_key_attributes is not None:
            raise invalid("is only allowed when type is INCLUDE", field="nonKeyAttributes")
        return self


IndexName = Annotated[str, Field(min_length=3, max_length=255, pattern=INDEX_NAME_PATTERN)]


class GlobalSecondaryIndex(Spec):
    """A GSI: its own partition key (and optional sort key), projection and, when PROVISIONED, capacity."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.sortKey) || self.sortKey.name != self.partitionKey.name",
                    "message": "sortKey.name must differ from partitionKey.name",
                }
            ]
        }
    )

    name: IndexName
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None
    projection: IndexProjection = Field(default_factory=IndexProjection)
    provisioned_throughput: ProvisionedThroughput | None = None


class LocalSecondaryIndex(Spec):
    """An LSI: the table's partition key with another sort key (fixed once the table exists)."""

    name: IndexName
    sort_key: KeyAttribute
    projection: IndexProjection = Field(default_factory=IndexProjection)


class TableSpec(Spec):
    """Key schema and table options."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.sortKey) || self.sortKey.name != self.partitionKey.name",
                    "message": "sortKey.name must differ from partitionKey.name",
                },
                {
                    "rule": "(has(self.billingMode) && self.billingMode == 'PROVISIONED') "
                    "== has(self.provisionedThroughput)",
                    "message": "provisionedThroughput is required with billingMode PROVISIONED "
                    "and not allowed otherwise",
                },
                {
                    "rule": "!has(self.localSecondaryIndexes) || has(self.sortKey)",
                    "message": "localSecondaryIndexes need a table sortKey",
                },
                {
                    "rule": "!has(self.globalSecondaryIndexes) || self.globalSecondaryIndexes.all(g, "
                    "has(g.provisionedThroughput) == (has(self.billingMode) && self.billingMode == 'PROVISIONED'))",
                    "message": "every globalSecondaryIndexes[].provisionedThroughput is required with billingMode "
                    "PROVISIONED and not allowed otherwise",
                },
            ]
        }
    )

    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None
    partitions: Annotated[int, Field(ge=1, le=64, description="Storage partitions.")] = 1
    ttl_attribute: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    stream: StreamSpec | None = None
    billing_mode: Literal["PAY_PER_REQUEST", "PROVISIONED"] = "PAY_PER_REQUEST"
    provisioned_throughput: ProvisionedThroughput | None = None
    global_secondary_indexes: Annotated[list[GlobalSecondaryIndex], Field(max_length=MAX_GSIS)] | None = None
    local_secondary_indexes: Annotated[list[LocalSecondaryIndex], Field(max_length=MAX_LSIS)] | None = None

    @model_validator(mode="after")
    def _check(self) -> TableSpec:
        if self.sort_key is not None and self.sort_key.name == self.partition_key.name:
            raise invalid(f"must differ from partitionKey.name ({self.partition_key.name!r})", field="sortKey.name")
        if self.billing_mode == "PROVISIONED" and self.provisioned_throughput is None:
            raise invalid("is required when billingMode is PROVISIONED", field="provisionedThroughput")
        if self.billing_mode != "PROVISIONED" and self.provisioned_throughput is not None:
            raise invalid("is only allowed when billingMode is PROVISIONED", field="provisionedThroughput")
        self._check_indexes()
        return self

    def _check_indexes(self) -> None:
        """Unique names, distinct index keys, one type per attribute name, LSIs only with a sort key,
        per-GSI capacity exactly when PROVISIONED (DynamoDB's CreateTable rules, named by field)."""
        types = {self.partition_key.name: self.partition_key.type}
        if self.sort_key is not None:
            types[self.sort_key.name] = self.sort_key.type
        names: set[str] = set()

        def check_key(key: KeyAttribute, field: str) -> None:
            if types.setdefault(key.name, key.type) != key.type:
                raise invalid(f"attribute {key.name!r} is {types[key.name]} elsewhere in this table", field=field)

        def check_name(name: str, field: str) -> None:
            if name in names:
                raise invalid(f"duplicate index name {name!r}", field=field)
            names.add(name)

        provisioned = self.billing_mode == "PROVISIONED"
        for i, gsi in enumerate(self.global_secondary_indexes or ()):
            where = f"globalSecondaryIndexes[{i}]"
            check_name(gsi.name, f"{where}.name")
            check_key(gsi.partition_key, f"{where}.partitionKey.type")
            if gsi.sort_key is not None:
                if gsi.sort_key.name == gsi.partition_key.name:
                    raise invalid(
                        f"must differ from partitionKey.name ({gsi.partition_key.name!r})",
                        field=f"{where}.sortKey.name",
                    )
                check_key(gsi.sort_key, f"{where}.sortKey.type")
            if provisioned and gsi.provisioned_throughput is None:
                raise invalid("is required when billingMode is PROVISIONED", field=f"{where}.provisionedThroughput")
            if not provisioned and gsi.provisioned_throughput is not None:
                raise invalid("is only allowed when billingMode is PROVISIONED", field=f"{where}.provisionedThroughput")
        for i, lsi in enumerate(self.local_secondary_indexes or ()):
            where = f"localSecondaryIndexes[{i}]"
            if self.sort_key is None:
                raise invalid(
                    "need a table sortKey (an LSI is the table's partition key with another sort key)",
                    field="localSecondaryIndexes",
                )
            check_name(lsi.name, f"{where}.name")
            if lsi.sort_key.name == self.partition_key.name:
                raise invalid(
                    f"must differ from the table's partitionKey.name ({self.partition_key.name!r})",
                    field=f"{where}.sortKey.name",
                )
            check_key(lsi.sort_key, f"{where}.sortKey.type")


class Table(BaseModel):
    """A `kumo.dev/v1alpha1` `Table` object (`metadata.name` is the table name)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    api_version: Literal["kumo.dev/v1alpha1"] = API_VERSION
    kind: Literal["Table"] = "Table"
    metadata: ObjectMeta
    spec: TableSpec
    status: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check_name(self) -> Table:
        if len(self.metadata.name) < MIN_TABLE_NAME:
            raise invalid(
                f"must be at least {MIN_TABLE_NAME} characters long for a table (DynamoDB's rule)",
                field="metadata.name",
            )
        return self
