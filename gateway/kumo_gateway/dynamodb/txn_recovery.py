"""Recovery of transactions whose coordinator died between prepare and commit (or whose participant
was unreachable at commit): every gateway asks each partition, now and then, for prepared
transactions older than :data:`STALE_AFTER_S`, asks their holder for the decision (the holder decides
``abort`` when none was made in time) and finishes them on the participant. Idempotent, so several
gateway replicas may run it at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from kumo_gateway.dynamodb.table_directory import TableDirectory
from kumo_tablestore import transactions as tx
from kumo_tablestore import wire_json
from kumo_tablestore.partition_client import PartitionClient, PartitionUnavailable

log = logging.getLogger("kumo.gateway.dynamodb.recovery")

#: A prepared transaction is looked at after this long (its coordinator normally commits within ms).
STALE_AFTER_S = 2.0
#: The holder decides ``abort`` for a transaction still undecided this long after its prepare.
UNDECIDED_AFTER_S = 2.0
INTERVAL_S = 0.5


class TxnRecovery:
    def __init__(self, directory: TableDirectory, client: PartitionClient) -> None:
        self.directory = directory
        self.client = client
        self._task: asyncio.Task[None] | None = None

    def ensure_started(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="kumo-txn-recovery")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("transaction recovery sweep failed")
            await asyncio.sleep(INTERVAL_S)

    async def _post(self, endpoint: str, operation: str, body: dict[str, Any]) -> dict[str, Any] | None:
        try:
            status, raw = await self.client.op(endpoint, operation, body)
        except PartitionUnavailable:
            return None
        return wire_json.loads(raw) if status == 200 else None

    async def sweep(self, stale_after: float = STALE_AFTER_S, undecided_after: float = UNDECIDED_AFTER_S) -> int:
        """One pass over every partition; returns how many transactions it finished."""
        finished = 0
        for name in self.directory.table_names():
            route = self.directory.route(name)
            if route is None:
                continue
            for endpoint in route.endpoints:
                answer = await self._post(endpoint, tx.PENDING, {"OlderThan": stale_after})
                for entry in (answer or {}).get("Pending", []):
                    if await self._finish(endpoint, entry, undecided_after):
                        finished += 1
        return finished

    async def _finish(self, endpoint: str, entry: dict[str, Any], undecided_after: float) -> bool:
        txid, (table, partition) = entry["TxId"], entry["Holder"]
        holder_route = self.directory.route(table)
        if holder_route is None or partition >= len(holder_route.endpoints):
            decision = "abort"  # the holder's table is gone: nothing can have committed it
            holder_endpoint = None
        else:
            holder_endpoint = holder_route.endpoints[partition]
            answer = await self._post(holder_endpoint, tx.RESOLVE, {"TxId": txid, "UndecidedAfter": undecided_after})
            if answer is None:
                return False  # holder unreachable: ask again next sweep
            decision = answer["Decision"]
        if decision == "pending":
            return False
        if endpoint == holder_endpoint:  # the holder finished its own share while resolving
            log.info("transaction %s: recovered as %s on its holder %s", txid, decision, endpoint)
            return True
        operation = tx.COMMIT if decision == "commit" else tx.ABORT
        done = await self._post(endpoint, operation, {"TxId": txid, "Holder": False})
        if done is not None:
            log.info("transaction %s: recovered as %s on %s", txid, decision, endpoint)
        return done is not None
