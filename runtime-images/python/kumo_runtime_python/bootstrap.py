"""Kumo's Python runtime client: the Lambda Runtime API loop (standard library only).

Run as ``python bootstrap.py`` with ``AWS_LAMBDA_RUNTIME_API``, ``_HANDLER`` and ``LAMBDA_TASK_ROOT``
set. Behaves like AWS's ``awslambdaric``: same context object, error shapes and log lines.
Imports nothing from Kumo.
"""

from __future__ import annotations

import _socket
import json
import os
import sys
import time

API = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
#: The host's answer to every accepted result (parsed without looking at it).
ACCEPTED = b'HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"status":"OK"}'
_HERE = os.path.dirname(os.path.abspath(__file__))
_REQUEST_ID = ""


class Fault(Exception):
    """A failure the runtime reports with a ``Runtime.*`` error type."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


# -- the Runtime API ------------------------------------------------------------------------------
class RuntimeClient:
    """Minimal HTTP/1.1 keep-alive client on ``_socket`` (``http.client`` costs ~70 ms to import).

    The warm loop pipelines: ``POST /response`` (or ``/error``) and the next ``GET /next`` leave in
    one ``send``, and both answers usually arrive in one ``recv``. Request heads are pre-built.
    Reconnects once when the host closed an idle connection.
    """

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self.host = host.strip("[]") or "127.0.0.1"
        self.port = int(port)
        self.address = address
        self.sock = None
        self.buf = b""
        self.next_request = f"GET {API}/invocation/next HTTP/1.1\r\nHost: {address}\r\n\r\n".encode()
        self._post_head = f"POST {API}/%s HTTP/1.1\r\nHost: {address}\r\nContent-Length: %d\r\n"

    def _connect(self):
        family = _socket.AF_INET6 if ":" in self.host else _socket.AF_INET
        sock = _socket.socket(family, _socket.SOCK_STREAM)
        sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        sock.connect((self.host, self.port))
        self.buf = b""
        return sock

    def _close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def _fill(self) -> None:
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionError("Runtime API closed the connection")
        self.buf = self.buf + chunk if self.buf else chunk

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read_response(self) -> tuple[int, dict, bytes]:
        """One answer from the buffer/socket: ``(status, headers with lower-case names, body)``."""
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            self._fill()
        if self.buf.startswith(ACCEPTED):  # the host's constant answer to a result
            self.buf = self.buf[len(ACCEPTED) :]
            return 202, {}, b'{"status":"OK"}'
        lines = self.buf[:end].decode("utf-8", "replace").split("\r\n")
        self.buf = self.buf[end + 4 :]
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            colon = line.find(":")
            headers[line[:colon].strip().lower()] = line[colon + 1 :].strip()
        if status == 100:  # 100 Continue: the real answer follows
            return self._read_response()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int(self._line().split(b";")[0], 16):
                parts.append(self._take(size))
                self._line()
            while self._line():  # trailers
                pass
            body = b"".join(parts)
        else:
            body = self._take(int(headers.get("content-length") or 0))
        if headers.get("connection", "").lower() == "close":
            self._close()
        return status, headers, body

    def _exchange(self, request: bytes, answers: int) -> list[tuple[int, dict, bytes]]:
        for attempt in (0, 1):
            try:
                if self.sock is None:
                    self.sock = self._connect()
                self.sock.sendall(request)
                out = []
                for _ in range(answers):
                    if self.sock is None:  # the host closed after an answer
                        raise ConnectionError("Runtime API closed the connection")
                    out.append(self._read_response())
                return out
            except OSError:
                self._close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def post_request(self, path: str, body: bytes, headers: dict) -> bytes:
        """The bytes of ``POST {API}/{path}`` with ``body``."""
        head = self._post_head % (path, len(body))
        for name, value in headers.items():
            head += f"{name}: {value}\r\n"
        return (head + "\r\n").encode() + body

    def call(self, method: str, path: str, body: bytes = b"", headers: dict | None = None):
        """One request: ``(status, headers with lower-case names, body)``; ``path`` is under ``API``."""
        if method == "GET" and path == "invocation/next":
            request = self.next_request
        else:
            request = self.post_request(path, body, headers or {})
        return self._exchange(request, 1)[0]

    def post_then_next(self, path: str, body: bytes, headers: dict):
        """``POST`` a result and ask for the next event in one write: ``(post status, post body, next)``."""
        request = self.post_request(path, body, headers)
        posted, following = self._exchange(request + self.next_request, 2)
        return posted[0], posted[2], following

    def post_error(self, path: str, error: dict) -> int:
        return self.call("POST", path, json.dumps(error).encode(), _error_headers(error))[0]


def _error_headers(error: dict) -> dict:
    return {ERROR_TYPE_HEADER: error["errorType"], "Content-Type": "application/vnd.aws.lambda.error+json"}


# -- context --------------------------------------------------------------------------------------
class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")


class Client:
    __slots__ = ("app_package_name", "app_title", "app_version_code", "app_version_name", "installation_id")


class ClientContext:
    __slots__ = ("client", "custom", "env")


def _from_dict(cls, data):
    if data is None:
        return None
    obj = cls()
    for name in cls.__slots__:
        setattr(obj, name, data.get(name))
    return obj


def _parse_json_header(value: str | None, name: str):
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError as exc:
        raise Fault("Runtime.LambdaContextUnmarshalError", f"Unable to parse {name} JSON: {exc}") from None


_FUNCTION_ENV: tuple | None = None


def _function_environment() -> tuple:
    """The context's values from the environment, read once (they are fixed for the instance)."""
    global _FUNCTION_ENV
    if _FUNCTION_ENV is None:
        names = ("LOG_GROUP_NAME", "LOG_STREAM_NAME", "FUNCTION_NAME", "FUNCTION_MEMORY_SIZE", "FUNCTION_VERSION")
        _FUNCTION_ENV = tuple(os.environ.get("AWS_LAMBDA_" + name) for name in names)
    return _FUNCTION_ENV


class LambdaContext:
    """The ``context`` argument, attribute for attribute as in ``awslambdaric``."""

    def __init__(self, request_id: str, headers) -> None:
        self.aws_request_id = request_id
        (
            self.log_group_name,
            self.log_stream_name,
            self.function_name,
            self.memory_limit_in_mb,  # a string, as on Lambda
            self.function_version,
        ) = _function_environment()
        self.invoked_function_arn = headers.get("lambda-runtime-invoked-function-arn")
        self.tenant_id = headers.get("lambda-runtime-aws-tenant-id")
        client_context = _parse_json_header(headers.get("lambda-runtime-client-context"), "Client Context")
        self.client_context = _from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _from_dict(Client, self.client_context.client)
        identity = _parse_json_header(headers.get("lambda-runtime-cognito-identity"), "Cognito Identity")
        self.identity = CognitoIdentity()
        self.identity.cognito_identity_id = (identity or {}).get("cognitoIdentityId")
        self.identity.cognito_identity_pool_id = (identity or {}).get("cognitoIdentityPoolId")
        self._deadline_ms = int(headers.get("lambda-runtime-deadline-ms") or 0)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, msg) -> None:
        sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        return f"LambdaContext([aws_request_id={self.aws_request_id},function_name={self.function_name}])"


# -- errors and logging ---------------------------------------------------------------------------
def _trace(tb) -> list[str]:
    import traceback

    frames = traceback.extract_tb(tb)
    while frames and os.path.abspath(frames[0].filename) == os.path.abspath(__file__):
        frames.pop(0)
    return traceback.format_list(frames)


def _error(exc: BaseException, request_id: str = "") -> dict:
    if isinstance(exc, Fault):
        error_type, message, trace = exc.error_type, exc.message, exc.trace
    else:
        error_type, message, trace = type(exc).__name__, str(exc), _trace(exc.__traceback__)
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": trace}


def log_error(error: dict) -> None:
    """``[ERROR] Type: message`` plus the trace, one log record (``\\r`` joins lines, as Lambda)."""
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}", "Traceback (most recent call last):"]
    for element in error["stackTrace"]:
        lines += [line.replace("  ", "\u00a0\u00a0", 1) for line in element.splitlines()]
    sys.stdout.write("\r".join(lines) + "\n")


def _setup_logging() -> None:
    import logging

    class RequestIdFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _REQUEST_ID
            return True

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"
        )
    )
    handler.formatter.converter = time.gmtime  # type: ignore[union-attr]
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging._nameToLevel:
        root.setLevel(level)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 - contextlib is not worth its import time here
            stream.flush()
        except Exception:
            pass


# -- handler --------------------------------------------------------------------------------------
def load_handler(spec: str):
    try:
        modname, fname = spec.rsplit(".", 1)
    except ValueError as exc:
        raise Fault("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {exc}") from None
    if modname.split(".")[0] in sys.builtin_module_names:
        raise Fault("Runtime.BuiltInModuleConflict", f"Cannot use built-in module {modname} as a handler module")
    import importlib

    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as exc:
        raise Fault("Runtime.ImportModuleError", f"Unable to import module '{modname}': {exc}") from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise Fault("Runtime.UserCodeSyntaxError", f"Syntax error in module '{modname}': {exc}", trace) from None
    try:
        return getattr(module, fname)
    except AttributeError:
        raise Fault("Runtime.HandlerNotFound", f"Handler '{fname}' missing on module '{modname}'") from None


def _json_default(obj):
    import decimal

    if isinstance(obj, decimal.Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


_ENCODER: json.JSONEncoder | None = None


def marshal(result) -> tuple[bytes, str]:
    global _ENCODER
    if isinstance(result, bytes):
        return result, "application/unknown"
    if _ENCODER is None:  # json.dumps(default=...) would build a new encoder on every call
        ascii_only = os.environ.get("AWS_EXECUTION_ENV", "") in ("AWS_Lambda_python3.10", "AWS_Lambda_python3.11")
        _ENCODER = json.JSONEncoder(default=_json_default, ensure_ascii=ascii_only)
    try:
        return _ENCODER.encode(result).encode(), "application/json"
    except (TypeError, ValueError) as exc:
        raise Fault("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None


class TraceEnvironment(os._Environ):
    """``os.environ`` keeping ``_X_AMZN_TRACE_ID`` in Python only: glibc never frees a string ``setenv``
    replaces (a new trace id per invocation grew RSS ~144 B per invocation). Handlers read it as on
    Lambda (``os.environ``, ``os.getenv``); children started without ``env=`` do not inherit it."""

    def __init__(self, e: os._Environ) -> None:
        super().__init__(e._data, e.encodekey, e.decodekey, e.encodevalue, e.decodevalue)

    def set_trace_id(self, trace_id: str | None) -> None:
        if trace_id:
            self._data[b"_X_AMZN_TRACE_ID"] = trace_id.encode("utf-8", "surrogateescape")
        else:
            self._data.pop(b"_X_AMZN_TRACE_ID", None)


def handle(handler, headers, body: bytes) -> tuple[str, bytes, dict]:
    """Run one event: ``(path under API, body, headers)`` of the ``POST`` that reports it."""
    request_id = headers.get("lambda-runtime-aws-request-id", "")
    try:
        context = LambdaContext(request_id, headers)
        try:
            event = json.loads(body)
        except ValueError as exc:
            raise Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}") from None
        payload, content_type = marshal(handler(event, context))
    except Exception as exc:
        error = _error(exc, request_id)
        log_error(error)
        _flush()
        return f"invocation/{request_id}/error", json.dumps(error).encode(), _error_headers(error)
    _flush()
    return f"invocation/{request_id}/response", payload, {"Content-Type": content_type}


def main() -> int:
    global _REQUEST_ID
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    sys.path.insert(0, task_root)
    opt = os.environ.get("KUMO_OPT_DIR")  # local mode's /opt (layers): after the task root, as on Lambda
    if opt:
        site = os.path.join(opt, "python", "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}", "site-packages")
        sys.path[1:1] = [site, os.path.join(opt, "python")]
    client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    _setup_logging()
    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
    except Exception as exc:
        error = _error(exc)
        log_error(error)
        _flush()
        client.post_error("init/error", error)
        return 1
    environ = os.environ = TraceEnvironment(os.environ)
    status, headers, body = client.call("GET", "invocation/next")
    while True:
        if status != 200:
            sys.stderr.write(f"[ERROR] Runtime API /next answered {status}: {body[:200]!r}\n")
            return 2
        _REQUEST_ID = headers.get("lambda-runtime-aws-request-id", "")
        environ.set_trace_id(headers.get("lambda-runtime-trace-id"))
        path, payload, post_headers = handle(handler, headers, body)
        posted, reply, (status, headers, body) = client.post_then_next(path, payload, post_headers)
        if posted != 202:
            sys.stderr.write(f"[WARNING] Runtime API refused the result ({posted}): {reply[:200]!r}\n")


if __name__ == "__main__":
    sys.exit(main())
