"""The AWS CLI (`aws lambda …`, a real subprocess) deploying to `kumo up`, and the size and storage limits
(nothing half-deployed when a package is refused)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError
from kumo_up import KumoUp

ROLE = "arn:aws:iam::000000000000:role/kumo-test"
AWS = [str(Path(sys.executable).parent / "aws")] if (Path(sys.executable).parent / "aws").exists() else ["aws"]


def write_package(path: Path, answer: str) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "app.py", f"def handler(event, context):\n    return {{'answer': {answer!r}, 'event': event}}\n"
        )
    return path


def aws(kumo: KumoUp, *args: str, expect_ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*AWS, "lambda", *args, "--output", "json"],
        capture_output=True,
        text=True,
        timeout=180,
        env=kumo.aws_env(),
        check=False,
    )
    if expect_ok:
        assert done.returncode == 0, f"aws lambda {' '.join(args)} failed:\n{done.stderr}"
    return done


def test_aws_cli_create_wait_invoke_update_get(tmp_path: Path) -> None:
    assert shutil.which(AWS[0]), "the AWS CLI (pip awscli, a dev dependency) is needed"
    kumo = KumoUp([], tmp_path)
    try:
        first = write_package(tmp_path / "first.zip", "one")
        created = json.loads(
            aws(
                kumo,
                "create-function",
                "--function-name",
                "cli-fn",
                "--runtime",
                "python3.12",
                "--handler",
                "app.handler",
                "--role",
                ROLE,
                "--zip-file",
                f"fileb://{first}",
            ).stdout
        )
        assert created["State"] == "Pending" and created["FunctionName"] == "cli-fn"
        aws(kumo, "wait", "function-active-v2", "--function-name", "cli-fn")
        out = tmp_path / "out.json"
        invoked = aws(
            kumo,
            "invoke",
            "--function-name",
            "cli-fn",
            "--payload",
            '{"n": 1}',
            str(out),
        )
        assert json.loads(invoked.stdout)["StatusCode"] == 200
        assert json.loads(out.read_text()) == {"answer": "one", "event": {"n": 1}}

        second = write_package(tmp_path / "second.zip", "two")
        aws(kumo, "update-function-code", "--function-name", "cli-fn", "--zip-file", f"fileb://{second}")
        aws(kumo, "wait", "function-updated-v2", "--function-name", "cli-fn")
        aws(kumo, "invoke", "--function-name", "cli-fn", str(out))
        assert json.loads(out.read_text())["answer"] == "two"

        got = json.loads(aws(kumo, "get-function", "--function-name", "cli-fn").stdout)
        expected = base64.b64encode(hashlib.sha256(second.read_bytes()).digest()).decode()
        assert got["Configuration"]["CodeSha256"] == expected
        assert httpx.get(got["Code"]["Location"], timeout=30).content == second.read_bytes()

        listed = json.loads(aws(kumo, "list-functions").stdout)
        assert [f["FunctionName"] for f in listed["Functions"]] == ["cli-fn"]

        corrupted = tmp_path / "corrupted.zip"
        data = bytearray(first.read_bytes())  # the directory intact (the CLI checks it), a member's bytes not
        at = data.index(b"def handler")
        data[at : at + 3] = b"DEF"
        corrupted.write_bytes(bytes(data))
        refused = aws(
            kumo,
            "create-function",
            "--function-name",
            "corrupted",
            "--runtime",
            "python3.12",
            "--handler",
            "app.handler",
            "--role",
            ROLE,
            "--zip-file",
            f"fileb://{corrupted}",
            expect_ok=False,
        )
        assert refused.returncode != 0 and "InvalidParameterValueException" in refused.stderr
        assert "unzip" in refused.stderr
        listed = json.loads(aws(kumo, "list-functions").stdout)
        assert [f["FunctionName"] for f in listed["Functions"]] == ["cli-fn"]

        aws(kumo, "delete-function", "--function-name", "cli-fn")
        missing = aws(kumo, "get-function", "--function-name", "cli-fn", expect_ok=False)
        assert "ResourceNotFoundException" in missing.stderr
    finally:
        kumo.stop()


def zeros_zip(unzipped_bytes: int) -> bytes:
    """A small zip that unpacks to ``unzipped_bytes`` (zeros compress ~1000:1)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return 1\n")
        with archive.open("data.bin", "w", force_zip64=True) as member:
            chunk = bytes(1024 * 1024)
            for _ in range(unzipped_bytes // len(chunk)):
                member.write(chunk)
    return buffer.getvalue()


def test_size_and_storage_limits_leave_nothing_behind(tmp_path: Path) -> None:
    kumo = KumoUp([], tmp_path, args=["--code-storage-limit", str(600 * 1024)])
    try:
        client = kumo.lambda_client()

        def create(name: str, data: bytes) -> None:
            client.create_function(
                FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=ROLE, Code={"ZipFile": data}
            )

        with pytest.raises(ClientError) as unzipped:
            create("too-big-unzipped", zeros_zip(251 * 1024 * 1024))
        assert unzipped.value.response["Error"]["Code"] == "InvalidParameterValueException"
        assert "Unzipped size must be smaller than 262144000 bytes" in unzipped.value.response["Error"]["Message"]

        with pytest.raises(ClientError) as zipped:
            create("too-big-zipped", os.urandom(51 * 1024 * 1024))
        assert zipped.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
        assert zipped.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413

        fits = zeros_zip(1024 * 1024)  # ~1 KB zipped
        create("fits", fits)
        big = io.BytesIO()
        with zipfile.ZipFile(big, "w") as archive:  # stored, not compressed: ~700 KB, over the limit with `fits`
            archive.writestr("app.py", "def handler(e, c):\n    return 1\n")
            archive.writestr("noise.bin", os.urandom(700 * 1024))
        with pytest.raises(ClientError) as storage:
            create("over-storage", big.getvalue())
        assert storage.value.response["Error"]["Code"] == "CodeStorageExceededException"

        names = [f["FunctionName"] for f in client.list_functions()["Functions"]]
        assert names == ["fits"]
        stored = sorted(p.name for p in (kumo.state_dir / "code-store").iterdir())
        assert stored == [hashlib.sha256(fits).hexdigest() + ".zip"]
        assert sorted(p.name for p in (kumo.state_dir / "api-functions").iterdir()) == ["fits.json"]
        client.get_waiter("function_active_v2").wait(FunctionName="fits", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        built = [p for p in (kumo.state_dir / "packages").iterdir() if not p.name.startswith(".")]
        assert len(built) == 1  # the one function's package; no staging dir, nothing from the refused uploads
    finally:
        kumo.stop()
