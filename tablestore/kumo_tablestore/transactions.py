"""The coordinator → partition transaction contract (TransactWriteItems/TransactGetItems) and its pure rules.

Operations on the partition protocol (``POST /op/<name>``, JSON bodies as below):

- ``TxPrepare`` ``{TxId, Holder: [table, partition], OnePhase, Actions: [{Index, Kind, Op}]}`` →
  ``{Prepared: bool, Reasons: [{Index, Code, Message?, Item?}], Units: {index: consumption}}``
  (``consumption``: :meth:`kumo_tablestore.capacity.Consumption.to_dict`, the table's and each
  index's units). Validates and evaluates every action against the current items, write-locks the
  keys and stores the prepared changes durably (``OnePhase``: applies them at once instead, for a
  transaction on one partition). On a provisioned table with no capacity left, or an action changing
  a GSI with none, the reasons are ``ProvisionedThroughputExceeded``; a prepared transaction's units
  are charged to the partition's buckets.
- ``TxCommit`` ``{TxId, Holder: bool}`` → ``{}``: apply the prepared changes; at the holder the same
  local transaction writes the durable decision ``commit``. The holder refuses (``TxAborted``) once
  it decided ``abort``.
- ``TxAbort`` ``{TxId, Holder: bool}`` → ``{}``: drop the prepared changes; the holder records ``abort``.
- ``TxResolve`` ``{TxId, UndecidedAfter}`` (to the holder) → ``{Decision: commit|abort|pending}``.
- ``TxPending`` ``{OlderThan}`` → ``{Pending: [{TxId, Holder}]}``: prepared, undecided transactions.
- ``TxRead`` ``{ReadId, Lock, Gets: [{Index, Key, ProjectionExpression?, ExpressionAttributeNames?}]}``
  → ``{Conflict: [index...]}``, ``{Throttled: [index...]}`` (no read capacity left) or
  ``{Items: {index: item|null}, Units: {index: units}}``;
  ``TxRelease`` ``{ReadId}`` drops the read locks ``TxRead`` took.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from kumo_tablestore.errors import GSI_THROUGHPUT_EXCEEDED, TABLE_THROUGHPUT_EXCEEDED, DynamoError

PREPARE = "TxPrepare"
COMMIT = "TxCommit"
ABORT = "TxAbort"
RESOLVE = "TxResolve"
PENDING = "TxPending"
READ = "TxRead"
RELEASE = "TxRelease"
OPERATIONS = (PREPARE, COMMIT, ABORT, RESOLVE, PENDING, READ, RELEASE)

#: Metadata names (engine ``meta``) of a prepared transaction and of a holder's decision.
PREPARED_PREFIX = "txn.p."
DECISION_PREFIX = "txn.d."
#: Decisions are kept this long (a participant down longer than this would be resolved as aborted).
DECISION_RETENTION_S = 24 * 3600.0

CONFLICT_MESSAGE = "Transaction is ongoing for the item"
CONDITION_MESSAGE = "The conditional request failed"

Decision = Literal["commit", "abort", "pending"]


class TransactionConflictException(DynamoError):
    """A single-item write on an item a transaction holds (DynamoDB's ``TransactionConflictException``)."""

    def __init__(self, message: str = "Transaction is ongoing for the item") -> None:
        super().__init__("TransactionConflictException", message)


class TxAborted(DynamoError):
    """The holder already decided ``abort``: the transaction cannot commit (coordinator-internal)."""

    def __init__(self) -> None:
        super().__init__("KumoTransactionAborted", "The transaction was aborted by recovery", 409)


def conflict_reason() -> dict[str, Any]:
    return {"Code": "TransactionConflict", "Message": CONFLICT_MESSAGE}


def throughput_reason(gsi: bool = False) -> dict[str, Any]:
    """A provisioned table (or one of its GSIs) had no capacity left for the action."""
    message = GSI_THROUGHPUT_EXCEEDED if gsi else TABLE_THROUGHPUT_EXCEEDED
    return {"Code": "ProvisionedThroughputExceeded", "Message": message}


def condition_reason(item: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"Code": "ConditionalCheckFailed", "Message": CONDITION_MESSAGE}
    if item is not None:
        out["Item"] = item
    return out


def cancellation_reasons(count: int, partial: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``CancellationReasons`` in action order: the reasons partitions gave (with ``Index``), ``None`` elsewhere."""
    out: list[dict[str, Any]] = [{"Code": "None"} for _ in range(count)]
    for reason in partial:
        entry = {k: v for k, v in reason.items() if k != "Index"}
        if entry.get("Code", "None") != "None":
            out[reason["Index"]] = entry
    return out


def only_conflicts(reasons: list[dict[str, Any]]) -> bool:
    """Whether a cancellation is due to conflicts alone (worth retrying inside the coordinator)."""
    codes = {r.get("Code") for r in reasons} - {"None"}
    return codes == {"TransactionConflict"}


# ---- the holder's decision (pure state machine) ---------------------------------------------------


@dataclass(frozen=True)
class HolderView:
    """What the holder knows of one transaction when asked."""

    decision: str | None  # "commit" | "abort" | None
    prepared_age: float | None  # seconds since its own prepare, None: not prepared here


def on_commit(view: HolderView) -> Literal["apply", "done", "refuse"]:
    """The holder asked to commit: apply (and record ``commit``), already done, or refuse (aborted)."""
    if view.decision == "abort":
        return "refuse"
    if view.decision == "commit":
        return "done"
    return "apply" if view.prepared_age is not None else "refuse"


def on_prepare(view: HolderView) -> Literal["prepare", "refuse"]:
    """A prepare reaching the holder after a decision (a delayed request) is refused."""
    return "refuse" if view.decision is not None else "prepare"


def on_resolve(view: HolderView, undecided_after: float) -> Decision:
    """A participant (or recovery) asks the holder: the decision, ``pending`` while the coordinator may still
    commit, else ``abort`` — which the holder then records, so a late commit is refused (presumed abort)."""
    if view.decision in ("commit", "abort"):
        return view.decision  # type: ignore[return-value]
    if view.prepared_age is not None and view.prepared_age < undecided_after:
        return "pending"
    return "abort"
