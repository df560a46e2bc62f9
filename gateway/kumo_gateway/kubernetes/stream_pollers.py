"""The table-stream event source in a cluster gateway (``kumo gateway --kubernetes`` with Redis).

Every gateway replica runs :func:`kumo_gateway.async_.stream_source.serve_stream_pollers` over its own
``KubernetesTables`` (descriptions and partition endpoints) and its watched catalog; the shards' leases
and checkpoints in the shared Redis make the replicas split the shards, one poller per shard. The
pollers invoke through this same gateway (``127.0.0.1`` for a wildcard listen) with a key created at
start-up and known to this process's :class:`KeyRing` only (no Secret to manage or leak): its policy
allows ``lambda:InvokeFunction`` and nothing else.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from kumo.access_keys import AccessKey, new_access_key
from kumo.policy import Policy
from kumo_gateway.async_.stream_source import POLLERS_KEY_NAME
from kumo_gateway.server import client_host

if TYPE_CHECKING:
    from kumo.catalog import Catalog
    from kumo_gateway.auth.keys import KeyRing
    from kumo_gateway.dynamodb.table_directory import TableDirectory

#: What the pollers' key may do: invoke functions (any: the mappings come from the watched Functions).
POLLERS_POLICY = Policy(("lambda:InvokeFunction",), ("function:*",))


def pollers_key() -> AccessKey:
    """A fresh key for this process's pollers (a new one on every start: nothing persists it)."""
    return new_access_key(POLLERS_KEY_NAME, POLLERS_POLICY)


def gateway_url(host: str, port: int) -> str:
    """Where this process's own gateway answers, for a listen address."""
    address = client_host(host)
    return f"http://[{address}]:{port}" if ":" in address else f"http://{address}:{port}"


def start_stream_pollers(
    catalog: Catalog, tables: TableDirectory, ring: KeyRing, redis_url: str, host: str, port: int
) -> asyncio.Task[None]:
    """Start the pollers (once the gateway listens); cancel the task to stop them."""
    from kumo.aws_signing import SigV4Auth
    from kumo_gateway.async_.stream_source import serve_stream_pollers

    key = pollers_key()
    ring.add_process_key(key)
    auth = SigV4Auth(key.access_key_id, key.secret_access_key, "lambda", catalog.region)
    return asyncio.create_task(
        serve_stream_pollers(catalog, tables, redis_url, gateway_url(host, port), auth), name="stream-pollers"
    )
