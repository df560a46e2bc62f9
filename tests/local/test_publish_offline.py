"""``kumo publish NAME --state-dir`` (the seeding step of ``make run``): the real CLI on a real state dir."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kumo_cli.seed import SeedError, parse_environment

ROOT = Path(__file__).resolve().parents[2]
KUMO = [sys.executable, "-m", "kumo_cli"]


def kumo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KUMO, *args], capture_output=True, text=True, timeout=60)


def test_parse_environment():
    assert parse_environment(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    for bad in ("A", "=1"):
        with pytest.raises(SeedError, match="expected NAME=VALUE"):
            parse_environment([bad])


def test_seed_publishes_version_1_with_the_override_and_is_idempotent(tmp_path):
    args = ["publish", "shop", "--state-dir", str(tmp_path), "--manifests", str(ROOT / "examples" / "shop")]
    done = kumo(*args, "--environment", "RELEASE=1", "--description", "release 1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"function shop: version 1 in {tmp_path}"
    record = json.loads((tmp_path / "versions" / "shop" / "versions.json").read_text())
    assert "RELEASE" in json.dumps(record) and '"1"' in json.dumps(record)
    assert (tmp_path / "versions" / "shop" / "1" / "app.py").is_file()
    again = kumo(*args, "--environment", "RELEASE=1")
    assert again.returncode == 0 and "version 1 in" in again.stdout  # unchanged: the same version
    changed = kumo(*args)  # the manifest as it is (RELEASE=2): the next version
    assert changed.returncode == 0 and "version 2 in" in changed.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--environment", "NOEQUALS"], "--environment 'NOEQUALS': expected NAME=VALUE"),
        (["--environment", "AWS_REGION=x"], "spec.environment"),
    ],
)
def test_seed_refuses_bad_overrides(tmp_path, extra, message):
    done = kumo("publish", "shop", "--state-dir", str(tmp_path), "--manifests", str(ROOT / "examples/shop"), *extra)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not (tmp_path / "versions").exists()


def test_seed_refuses_an_unknown_function_and_environment_without_manifests(tmp_path):
    done = kumo("publish", "nope", "--state-dir", str(tmp_path), "--manifests", str(ROOT / "examples/shop"))
    assert done.returncode == 2 and "Function 'nope' not found" in done.stderr
    done = kumo("publish", "shop", "--environment", "A=1")
    assert done.returncode == 2 and "--environment needs --manifests" in done.stderr
