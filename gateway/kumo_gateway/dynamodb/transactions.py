"""The transaction coordinator: TransactWriteItems and TransactGetItems across partitions.

Writes: prepare on every participant partition (conditions checked, items write-locked, changes
stored durably), then commit the **holder** — the first participant, whose commit writes the durable
decision in the same local transaction as its items — then the others. A single-partition
transaction prepares and applies in one step. Reads: read-lock and read every item (waiting while a
prepared transaction holds one), then release; the items were all unchanged at the moment every lock
was held, so the answer is one snapshot. Design and recovery: ``docs/transactions.md``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from typing import Any

from kumo_gateway.dynamodb import transact_requests as treq
from kumo_gateway.dynamodb.json_protocol import ServiceUnavailable, dumps
from kumo_gateway.dynamodb.table_directory import TableRoute
from kumo_gateway.dynamodb.txn_tokens import TokenStore
from kumo_tablestore import transactions as tx
from kumo_tablestore import wire_json
from kumo_tablestore.capacity import Consumption
from kumo_tablestore.errors import DynamoError, InternalServerError, TransactionCanceledException
from kumo_tablestore.partition_client import PartitionClient, PartitionUnavailable

log = logging.getLogger("kumo.gateway.dynamodb.transactions")
Answer = tuple[int, bytes]
Group = tuple[str, int]

#: Attempts of a transaction cancelled by conflicts alone before the client sees the cancellation.
WRITE_ATTEMPTS = 4
#: How long TransactGetItems waits for prepared transactions on its items to be decided.
READ_WAIT_S = 8.0


def _error(status: int, raw: bytes) -> DynamoError:
    try:
        body = wire_json.loads(raw)
        return DynamoError(
            str(body.get("__type", "")).rsplit("#", 1)[-1] or "InternalServerError", body.get("message", ""), status
        )
    except ValueError:
        return InternalServerError()


class OutcomeUnknown(ServiceUnavailable):
    """The holder did not answer the commit: recovery decides; the client retries with its token."""


class Coordinator:
    def __init__(self, client: PartitionClient, lookup: Any, tokens: TokenStore) -> None:
        self.client = client
        self.lookup = lookup  # table name -> TableRoute | None
        self.tokens = tokens

    def _endpoint(self, group: Group) -> str:
        route: TableRoute | None = self.lookup(group[0])
        if route is None:
            raise DynamoError("ResourceNotFoundException", "Requested resource not found")
        return route.endpoints[group[1]]

    async def _call(self, group: Group, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        status, raw = await self.client.op(self._endpoint(group), operation, body)
        if status != 200:
            raise _error(status, raw)
        return wire_json.loads(raw)

    # ---- TransactWriteItems ----------------------------------------------------------------------

    async def write(self, request: dict[str, Any], raw: bytes) -> Answer:
        actions = treq.parse_write(request, len(raw), self.lookup)
        token = request.get("ClientRequestToken")
        fingerprint = treq.request_fingerprint(request) if token else ""
        if token:
            stored = await self.tokens.begin(token, fingerprint)
            if stored is not None:
                return 200, stored
        try:
            answer = await self._write_with_retries(request, actions)
        except OutcomeUnknown:
            raise  # the token stays pending (until it expires): a retry must not run the transaction twice
        except BaseException:
            if token:
                await self.tokens.forget(token)
            raise
        if token:
            await self.tokens.done(token, fingerprint, answer[1])
        return answer

    async def _write_with_retries(self, request: dict[str, Any], actions: list[treq.Action]) -> Answer:
        for attempt in range(WRITE_ATTEMPTS):
            try:
                units = await self._write_once(actions)
            except TransactionCanceledException as exc:
                if attempt == WRITE_ATTEMPTS - 1 or not tx.only_conflicts(exc.reasons):
                    raise
                await asyncio.sleep(random.uniform(0.001, 0.004) * (2**attempt))
                continue
            out: dict[str, Any] = {}
            consumed = treq.consumed_capacity(units, request.get("ReturnConsumedCapacity"))
            if consumed is not None:
                out["ConsumedCapacity"] = consumed
            return 200, dumps(out)
        raise AssertionError("unreachable")

    async def _write_once(self, actions: list[treq.Action]) -> list[tuple[str, Consumption]]:
        groups = treq.group(actions)
        txid = f"{time.time_ns():016x}{uuid.uuid4().hex[:16]}"  # time first: decisions are pruned oldest first
        holder = next(iter(groups))
        one_phase = len(groups) == 1

        def body(group: Group, acts: list[treq.Action]) -> dict[str, Any]:
            ops = [{"Index": a.index, "Kind": a.kind, "Op": a.op} for a in acts]
            return {"TxId": txid, "Holder": list(holder), "OnePhase": one_phase, "Actions": ops}

        async def prepare(group: Group, acts: list[treq.Action]) -> dict[str, Any] | BaseException:
            try:
                return await self._call(group, tx.PREPARE, body(group, acts))
            except (DynamoError, PartitionUnavailable) as exc:
                return exc

        results = await asyncio.gather(*(prepare(g, a) for g, a in groups.items()))
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        refused = [r for r in results if isinstance(r, dict) and not r.get("Prepared")]
        if failure is not None or refused:
            if not one_phase:
                await self._abort_all(txid, list(groups), holder)
            if failure is not None:
                raise failure
            reasons = [r for answer in refused for r in answer.get("Reasons", [])]
            raise TransactionCanceledException(tx.cancellation_reasons(len(actions), reasons))
        if not one_phase:
            try:
                await self._call(holder, tx.COMMIT, {"TxId": txid, "Holder": True})
            except PartitionUnavailable:
                raise OutcomeUnknown() from None
            except DynamoError as exc:
                if exc.type_name != tx.TxAborted().type_name:
                    raise
                await self._abort_all(txid, list(groups), holder)
                reasons = [{"Index": a.index, **tx.conflict_reason()} for a in actions]
                raise TransactionCanceledException(tx.cancellation_reasons(len(actions), reasons)) from None
            # The decision is durable: the rest commit now, or by recovery if one is unreachable.
            others = [g for g in groups if g != holder]
            done = await asyncio.gather(
                *(self._call(g, tx.COMMIT, {"TxId": txid, "Holder": False}) for g in others), return_exceptions=True
            )
            for g, d in zip(others, done, strict=True):
                if isinstance(d, BaseException):
                    log.warning("transaction %s: commit on %s/p%d left to recovery: %s", txid, g[0], g[1], d)
        used: dict[int, Consumption] = {}
        for answer in results:
            assert isinstance(answer, dict)
            used.update({int(i): Consumption.from_dict(u) for i, u in answer.get("Units", {}).items()})
        return [(a.table, used[a.index]) for a in actions if a.index in used]

    async def _abort_all(self, txid: str, groups: list[Group], holder: Group) -> None:
        async def abort(group: Group) -> None:
            try:
                await self._call(group, tx.ABORT, {"TxId": txid, "Holder": group == holder})
            except (DynamoError, PartitionUnavailable) as exc:  # recovery aborts it later
                log.warning("transaction %s: abort on %s/p%d failed: %s", txid, group[0], group[1], exc)

        await asyncio.gather(*(abort(g) for g in groups))

    # ---- TransactGetItems ------------------------------------------------------------------------

    async def read(self, request: dict[str, Any], raw: bytes) -> Answer:
        actions = treq.parse_get(request, len(raw), self.lookup)
        groups = treq.group(actions)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READ_WAIT_S
        delay = 0.002
        while True:
            outcome = await self._read_once(groups)
            if outcome is not None:
                break
            if loop.time() >= deadline:
                reasons = [{"Index": a.index, **tx.conflict_reason()} for a in actions]
                raise TransactionCanceledException(tx.cancellation_reasons(len(actions), reasons))
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.1)
        items, units = outcome
        responses = [({"Item": items[a.index]} if items.get(a.index) is not None else {}) for a in actions]
        out: dict[str, Any] = {"Responses": responses}
        consumed = treq.consumed_capacity(
            [(a.table, Consumption(table_read=units.get(a.index, 0.0))) for a in actions],
            request.get("ReturnConsumedCapacity"),
        )
        if consumed is not None:
            out["ConsumedCapacity"] = consumed
        return 200, dumps(out)

    async def _read_once(
        self, groups: dict[Group, list[treq.Action]]
    ) -> tuple[dict[int, Any], dict[int, float]] | None:
        read_id = uuid.uuid4().hex
        lock = len(groups) > 1

        async def one(group: Group, acts: list[treq.Action]) -> dict[str, Any] | BaseException:
            gets = [{"Index": a.index, "Op": a.op} for a in acts]
            try:
                return await self._call(group, tx.READ, {"ReadId": read_id, "Lock": lock, "Gets": gets})
            except (DynamoError, PartitionUnavailable) as exc:
                return exc

        answers = await asyncio.gather(*(one(g, a) for g, a in groups.items()))
        if lock:
            await asyncio.gather(
                *(self._call(g, tx.RELEASE, {"ReadId": read_id}) for g in groups), return_exceptions=True
            )
        for a in answers:
            if isinstance(a, PartitionUnavailable):
                raise ServiceUnavailable()
            if isinstance(a, BaseException):
                raise a
        throttled = [i for a in answers if isinstance(a, dict) for i in a.get("Throttled", [])]
        if throttled:  # a provisioned table out of read capacity: cancelled at once, not waited for
            count = sum(len(acts) for acts in groups.values())
            reasons = [{"Index": i, **tx.throughput_reason()} for i in throttled]
            raise TransactionCanceledException(tx.cancellation_reasons(count, reasons))
        if any(a.get("Conflict") for a in answers if isinstance(a, dict)):
            return None
        items: dict[int, Any] = {}
        units: dict[int, float] = {}
        for a in answers:
            assert isinstance(a, dict)
            items.update({int(i): v for i, v in a["Items"].items()})
            units.update({int(i): float(v) for i, v in a["Units"].items()})
        return items, units
