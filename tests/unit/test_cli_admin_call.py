"""``kumo_cli.platform_access.admin_call``, the one way CLI commands reach the admin API, against real
HTTP servers on 127.0.0.1: the admin API's own errors, a server that is not it, and none at all; and
``admin_result``, one call as a command's ``(exit code, output)``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support import free_port

from kumo_cli.platform_access import admin_call, admin_result


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        sent = json.loads(self.rfile.read(length) or b"null")
        if self.path == "/_kumo/ok":
            self._answer(200, json.dumps({"got": sent, "auth": self.headers.get("authorization")}).encode())
        elif self.path == "/_kumo/refused":
            self._answer(401, b'{"error": "Unauthorized", "message": "the admin token is missing"}')
        elif self.path == "/_kumo/gone":
            self._answer(204, b"")
        else:  # what a gateway without an admin API answers
            self._answer(404, b'{"message": "Not Found"}')

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_answers_and_errors_of_the_admin_api(url: str) -> None:
    status, data, problem = admin_call("POST", url, "/ok", {"Authorization": "Bearer t"}, {"a": 1})
    assert (status, problem) == (200, None) and data == {"got": {"a": 1}, "auth": "Bearer t"}
    assert admin_call("POST", url, "/refused", {}) == (
        401,
        {"error": "Unauthorized", "message": "the admin token is missing"},
        "the admin token is missing",
    )
    assert admin_call("POST", url, "/gone", {}) == (204, None, None)


def test_a_server_without_an_admin_api_and_no_server_at_all(url: str) -> None:
    status, data, problem = admin_call("POST", url, "/apis/x/keys", {})
    assert (status, data) == (404, None) and problem is not None and "serves no admin API (HTTP 404)" in problem
    closed = f"http://127.0.0.1:{free_port()}"
    status, data, problem = admin_call("POST", closed, "/ok", {})
    assert (status, data) == (0, None) and problem is not None and problem.startswith(f"cannot reach {closed}")


def test_one_call_as_a_commands_exit_code_and_output(url: str) -> None:
    seen = []

    def answer(data: object) -> str:
        seen.append(data)
        return f"done: {data}"

    ok = admin_result("kumo thing", "POST", url, "/ok", {}, answer, {"b": 2})
    assert ok == (0, "done: {'got': {'b': 2}, 'auth': None}")
    assert admin_result("kumo thing", "POST", url, "/gone", {}, answer) == (0, "done: None")
    refused = admin_result("kumo thing", "POST", url, "/refused", {}, answer)
    assert refused == (1, "kumo thing: the admin token is missing")
    assert seen == [{"got": {"b": 2}, "auth": None}, None]  # never asked to describe a problem
