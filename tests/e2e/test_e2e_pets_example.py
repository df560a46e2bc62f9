"""``examples/pets`` end to end, as its README tells it: ``kumo up`` (a real process, its private
Redis), keys made with the real ``kumo api-keys`` CLI, then 403/429 bodies over real HTTP."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from kumo_up import KUMO, KumoUp

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "pets"


SECRET_ENV, SECRET = "KUMO_SECRET_PARTNERS_JWT_SECRET", "an-hs256-secret-of-at-least-32-bytes-for-pets"


def kumo(*args: str, up: KumoUp) -> subprocess.CompletedProcess[str]:
    """The real CLI against ``up`` (its admin token from its state dir)."""
    command = [*KUMO, *args, "--url", up.url, "--state-dir", str(up.state_dir)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def pets(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("kumo-pets")
    example = workdir / "pets"
    shutil.copytree(EXAMPLE, example)
    with pytest.MonkeyPatch.context() as env:
        env.setenv(SECRET_ENV, SECRET)
        up = KumoUp([], workdir, paths=[example])
    try:
        yield SimpleNamespace(up=up, http=httpx.Client(base_url=up.url, timeout=30))
    finally:
        up.stop()


def test_the_key_route_refuses_requests_without_a_key(pets):
    response = pets.http.get("/pets/prod/pets")
    assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})
    response = pets.http.get("/pets/prod/pets/7", headers={"Authorization": "user:ada"})
    assert response.json() == {"id": "7", "name": "pet 7", "for": "ada"}


def test_the_lambda_authorizer_route_as_the_readme_curls_it(pets):
    for headers, status, body in (
        ({}, 401, {"message": "Unauthorized"}),
        ({"Authorization": "nobody"}, 403, {"message": "Forbidden"}),
    ):
        response = pets.http.get("/pets/prod/pets/7", headers=headers)
        assert (response.status_code, response.json()) == (status, body)


def test_the_jwt_route_with_a_token_from_mint_token(pets):
    mint = [sys.executable, str(EXAMPLE / "mint_token.py"), "alice"]
    token = subprocess.run(mint, capture_output=True, text=True, env={**os.environ, SECRET_ENV: SECRET}, check=True)
    created = pets.http.post(
        "/pets/prod/pets", content=b'{"name": "Kit"}', headers={"Authorization": f"Bearer {token.stdout.strip()}"}
    )
    assert (created.status_code, created.json()) == (201, {"created": {"name": "Kit"}, "by": "alice"})
    missing = pets.http.post("/pets/prod/pets", content=b"{}")
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    other_secret = {**os.environ, SECRET_ENV: "another-hs256-secret-of-at-least-32-bytes"}
    forged = subprocess.run(mint, capture_output=True, text=True, env=other_secret, check=True).stdout.strip()
    refused = pets.http.post("/pets/prod/pets", content=b"{}", headers={"Authorization": f"Bearer {forged}"})
    assert (refused.status_code, refused.json()) == (403, {"message": "Forbidden"})


def test_a_key_from_the_cli_works_until_it_is_deleted(pets):
    created = kumo("api-keys", "create", "--api", "pets", "--plan", "basic", "--name", "alice", up=pets.up)
    assert created.returncode == 0, created.stderr
    key_id = created.stdout.split()[3]
    key = created.stdout.splitlines()[1]
    assert len(key) == 40 and key.isalnum()
    response = pets.http.get("/pets/prod/pets", headers={"X-API-Key": key})
    assert response.status_code == 200 and response.json()[0]["name"] == "Rex"
    listed = kumo("api-keys", "list", "--api", "pets", up=pets.up)
    assert listed.returncode == 0 and key_id in listed.stdout and "alice" in listed.stdout
    assert key not in listed.stdout
    assert f'"apiKeyId":"{key_id}"' in pets.up.output()  # the access log names the key's id
    assert key not in pets.up.output()
    deleted = kumo("api-keys", "delete", "--api", "pets", key_id, up=pets.up)
    assert deleted.returncode == 0, deleted.stderr
    response = pets.http.get("/pets/prod/pets", headers={"x-api-key": key})
    assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})
    assert kumo("api-keys", "delete", "--api", "pets", key_id, up=pets.up).returncode == 1


def test_the_plan_throttle_answers_too_many_requests(pets):
    created = kumo("api-keys", "create", "--api", "pets", "--plan", "basic", up=pets.up)
    key = created.stdout.splitlines()[1]
    assert pets.http.get("/pets/prod/pets", headers={"x-api-key": key}).status_code == 200  # warm
    started = time.monotonic()
    statuses = [pets.http.get("/pets/prod/pets", headers={"x-api-key": key}) for _ in range(40)]
    elapsed = time.monotonic() - started
    accepted = sum(r.status_code == 200 for r in statuses)
    refused = [r for r in statuses if r.status_code != 200]
    assert refused and all(r.status_code == 429 and r.json() == {"message": "Too Many Requests"} for r in refused)
    assert accepted <= 10 + 5 * elapsed + 1  # burst + rate x time (the bucket started with 9 left)


def test_unknown_plans_are_refused_by_the_cli(pets):
    result = kumo("api-keys", "create", "--api", "pets", "--plan", "gold", up=pets.up)
    assert result.returncode == 1 and "no usage plan 'gold'" in result.stderr
