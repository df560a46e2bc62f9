"""Layer versions as ConfigMaps (pure rules): names, labels, numbering past deleted versions, tombstones."""

from __future__ import annotations

import re

from kumo_gateway.kubernetes import layer_objects as lo
from kumo_gateway.lambda_.layer_versions import LayerVersion, list_shape, parse_version_arn, version_shape

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def test_config_map_names_are_valid_and_distinct_for_names_that_differ_only_in_case() -> None:
    names = ["Tools", "tools", "_tools_", "x" * 140]
    made = {lo.config_map_name(n, 3) for n in names}
    assert len(made) == len(names)
    assert all(DNS_SUBDOMAIN.match(n) and len(n) <= 253 for n in made)
    assert lo.config_map_name("tools", 3, deleted=True).endswith("-3-deleted")
    assert lo.layer_label("tools") == "tools"
    assert lo.layer_label("_tools") == lo.layer_label("_tools") and lo.layer_label("_tools").startswith("h-")


def test_versions_skip_tombstones_and_numbers_are_never_reused() -> None:
    one, two = LayerVersion("tools", 1, "ab" * 32, 5), LayerVersion("tools", 2, "cd" * 32, 6, "second")
    other = LayerVersion("Tools", 7, "ef" * 32, 1)  # the same slug, another layer
    objects = [lo.version_object(v, "default") for v in (one, two, other)]
    objects.append(lo.tombstone_object("tools", 2, "default"))
    assert objects[0]["immutable"] is True and objects[0]["metadata"]["labels"][lo.LAYER_LABEL] == "tools"
    versions, highest = lo.layer_versions(objects, "tools")
    assert versions == [one] and highest == 2  # version 2 is deleted: the next one is 3
    assert lo.layer_names(objects) == ["Tools", "tools"]
    assert lo.layer_names([lo.version_object(two, "default"), lo.tombstone_object("tools", 2, "default")]) == []
    broken = lo.version_object(one, "default") | {"data": {"name": "tools", "version": "x"}}
    assert lo.layer_versions([broken], "tools") == ([], 0)


def test_lambda_shapes() -> None:
    arn_prefix = "arn:aws:lambda:us-east-1:000000000000:layer"
    shape = version_shape(LayerVersion("tools", 2, "00" * 32, 9, "d", "2024", ("python3.12",)), arn_prefix)
    assert shape["LayerVersionArn"] == f"{arn_prefix}:tools:2" and shape["Content"]["CodeSize"] == 9
    assert shape["Content"]["CodeSha256"] == "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    listed = list_shape(LayerVersion("tools", 2), arn_prefix)
    assert listed["LayerName"] == "tools" and "Content" not in listed["LatestMatchingVersion"]
    assert parse_version_arn(f"{arn_prefix}:tools:2") == ("tools", 2)
