"""Every start path of a language runtime works as a sandbox uid: Kumo's bootstrap, a custom ``bootstrap``
executable, AWS's ``awslambdaric``; the instance has no capabilities, ``no_new_privs``, its own TMPDIR."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import awslambdaric
import pytest
from runtime_support import invocation

import kumo
from kumo.runtime.host import bootstrap_path
from kumo.runtime.sandbox import Identity, spawn_arguments
from kumo_gateway.local.sandbox import LocalSandbox, runnable_interpreter

APP = """
import os

def status(field):
    with open("/proc/self/status") as f:
        return next(line.split()[1] for line in f if line.startswith(field + ":"))

def handler(event, context):
    scratch = os.path.join(os.environ["TMPDIR"], "scratch")
    with open(scratch, "w") as f:
        f.write("ok")
    return {
        "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid()],
        "groups": os.getgroups(),
        "cap_eff": status("CapEff"),
        "cap_prm": status("CapPrm"),
        "cap_amb": status("CapAmb"),
        "no_new_privs": status("NoNewPrivs"),
        "home_is_tmp": os.environ["HOME"] == os.environ["TMPDIR"],
        "tmp_owner": os.stat(os.environ["TMPDIR"]).st_uid,
        "scratch": open(scratch).read(),
    }
"""

CUSTOM_BOOTSTRAP = """#!/bin/sh
exec "$KUMO_TEST_PYTHON" -u "$LAMBDA_RUNTIME_DIR/bootstrap.py"
"""


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[LocalSandbox]:
    box = LocalSandbox(range(61900, 61910))
    try:
        yield box
    finally:
        box.close()


def expect_sandboxed(body: dict, identity: Identity) -> None:
    assert body["ids"] == [identity.uid] * 2 + [identity.gid] * 2
    assert body["groups"] == []
    assert int(body["cap_eff"], 16) == int(body["cap_prm"], 16) == int(body["cap_amb"], 16) == 0
    assert body["no_new_privs"] == "1"
    assert body["home_is_tmp"] is True and body["tmp_owner"] == identity.uid
    assert body["scratch"] == "ok"


async def _run(make_config, hosts, sandbox: LocalSandbox, name: str, files: dict[str, str], **kw) -> dict:
    identity = sandbox.identity(name, "python3.11")
    assert identity is not None, "no interpreter a sandbox uid can run"
    config = make_config(files, name=name, **kw)
    for path in config.code_dir.iterdir():
        if path.name == "bootstrap":
            path.chmod(0o755)
    code = sandbox.code_copy(name, identity, config.code_dir)
    config = dataclasses.replace(config, code_dir=code)
    if kw.get("command") == ["CUSTOM"]:
        config = dataclasses.replace(config, command=[str(code / "bootstrap")])
    host = await hosts(config, tmp_root=sandbox.tmp_root(name, identity), sandbox=identity)
    result = await host.invoke(invocation(config, b"{}"))
    assert result.function_error is None, result.payload
    body = json.loads(result.payload)
    expect_sandboxed(body, identity)
    return body


async def test_kumo_bootstrap_runs_as_the_sandbox_uid(make_config, hosts, sandbox):
    await _run(make_config, hosts, sandbox, "boot", {"app.py": APP})


async def test_custom_bootstrap_executable_runs_as_the_sandbox_uid(make_config, hosts, sandbox):
    python = sandbox.interpreter("python3.11")
    files = {"app.py": APP, "bootstrap": CUSTOM_BOOTSTRAP}
    await _run(
        make_config, hosts, sandbox, "custom", files, command=["CUSTOM"], environment={"KUMO_TEST_PYTHON": python}
    )
    assert stat.S_IMODE(os.stat(bootstrap_path()).st_mode) & 0o004  # the runtime dir is world-readable


async def test_awslambdaric_runs_as_the_sandbox_uid(make_config, hosts, sandbox):
    python = sandbox.interpreter("python3.11")
    site = str(Path(awslambdaric.__file__).parent.parent)
    await _run(
        make_config,
        hosts,
        sandbox,
        "ric",
        {"app.py": APP},
        command=[python, "-m", "awslambdaric", "app.handler"],
        environment={"PYTHONPATH": site},
    )


#: As uid 61950: a process that (maybe) makes itself non-dumpable, then waits.
TARGET = r"""
import sys, time
sys.path.insert(0, sys.argv[2])
from kumo.runtime.sandbox import make_non_dumpable
if sys.argv[1] == "hide":
    assert make_non_dumpable()
print("ready", flush=True)
time.sleep(30)
"""
#: As the same uid: read the target's environment.
READER = r"""
import sys
try:
    open(f"/proc/{sys.argv[1]}/environ", "rb").read()
    print("read")
except OSError as exc:
    print(type(exc).__name__)
"""


@pytest.mark.parametrize(("mode", "expected"), [("show", "read"), ("hide", "PermissionError")])
def test_a_non_dumpable_process_hides_its_environment_from_its_own_user(mode: str, expected: str):
    interpreter = runnable_interpreter("python3.11", 61950)
    assert interpreter is not None
    same_user = spawn_arguments(Identity(61950, 61950))
    repo = str(Path(kumo.__file__).resolve().parent.parent)
    with subprocess.Popen(
        [interpreter, "-c", TARGET, mode, repo], stdout=subprocess.PIPE, text=True, cwd="/", **same_user
    ) as target:
        try:
            assert target.stdout is not None and target.stdout.readline().strip() == "ready"
            reader = subprocess.run(
                [interpreter, "-c", READER, str(target.pid)],
                capture_output=True,
                text=True,
                timeout=30,
                cwd="/",
                check=True,
                **spawn_arguments(Identity(61950, 61950)),
            )
            assert reader.stdout.strip() == expected
        finally:
            target.kill()
