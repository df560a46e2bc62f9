"""The code storage limit (pure): Lambda's ``CodeStorageExceededException``, one rule for both modes.

Lambda limits the code an account stores (75 GB per region by default). Kumo applies the same rule
where uploads are kept: local mode's code store (``kumo up --code-storage-limit``) and a cluster's
(``kumo codestore --storage-limit``, chart value ``codeStore.storageLimit``). An upload is refused when
what is stored plus the new archive would be over the limit; an archive the store already has (the
same SHA-256) costs nothing again.

The cluster's code store answers such a ``PUT`` with ``507`` and the code :data:`STORE_ERROR`
(``kumo.packages.code_store``'s error shape); the gateway answers Lambda's :data:`LAMBDA_ERROR`
(``400``) for ``CreateFunction``, ``UpdateFunctionCode`` and ``PublishLayerVersion``, and ``kumo deploy``
says which limit to raise.
"""

from __future__ import annotations

#: Lambda's default code storage per account and region (75 GB).
DEFAULT_CODE_STORAGE_BYTES = 75 * 1024**3
#: Lambda's error type (HTTP 400), in both modes.
LAMBDA_ERROR = "CodeStorageExceededException"
LAMBDA_STATUS = 400
#: The code store's error code and status for a ``PUT`` over the limit (507 Insufficient Storage).
STORE_ERROR = "CodeStorageExceeded"
STORE_STATUS = 507


def storage_exceeded(used: int, incoming: int, limit: int, *, already_stored: bool, setting: str) -> str | None:
    """Why storing ``incoming`` more bytes is refused (``setting``: where the limit is set), or ``None``.

    ``used``: the bytes the store holds now; ``already_stored``: the store has this very archive.
    """
    if already_stored or used + incoming <= limit:
        return None
    return (
        f"Code storage limit exceeded: the code store holds {used} bytes, this archive is {incoming} bytes and "
        f"the limit is {limit} bytes ({setting}); delete functions or layer versions to make room"
    )
