"""The check of an uploaded deployment package (``CreateFunction``, ``UpdateFunctionCode``), as Lambda
refuses it, before anything is stored: a readable zip, no unsafe entries, 250 MB unzipped. Both backends
(local mode's ``local/api_functions.py``, the cluster's ``kubernetes/api_functions.py``) call it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from kumo.packages.build import PackageSource, read_zip
from kumo.packages.plan import PackageError
from kumo_gateway.lambda_.function_requests import RequestError

UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."


def read_zip_bytes(data: bytes) -> PackageSource:
    with tempfile.TemporaryDirectory(prefix="kumo-upload-") as scratch:
        path = Path(scratch) / "package.zip"
        path.write_bytes(data)
        try:
            return read_zip(path)
        except PackageError as exc:
            detail = str(exc).removeprefix("package.zip: ")
            if "limit is" in detail:
                raise RequestError(f"Unzipped size must be smaller than 262144000 bytes: {detail}") from None
            raise RequestError(f"{UNZIP_FAILED} ({detail})") from None
