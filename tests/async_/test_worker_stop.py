"""A real ``kumo worker`` whose Redis was killed ends promptly on SIGTERM, even with an event in flight
(its outcome cannot be recorded anyway: the entry stays pending and is claimed again later)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import redis
from redis_process import RedisProcess

from kumo_gateway.async_ import keys


class SlowInvoke(BaseHTTPRequestHandler):
    """A gateway whose function takes long: the request is held (bounded) and then answered."""

    started = threading.Event()
    release = threading.Event()

    def do_POST(self) -> None:
        SlowInvoke.started.set()
        SlowInvoke.release.wait(30)
        self.send_response(200)
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"null")

    def log_message(self, *args: object) -> None:
        pass


def test_worker_exits_promptly_on_sigterm_after_redis_died(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowInvoke)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    store = RedisProcess(tmp_path)
    store.start()
    worker = None
    try:
        client = redis.Redis(port=store.port)
        client.sadd(keys.FUNCTIONS, "slow")
        client.xgroup_create(keys.stream("slow"), keys.GROUP, id="0", mkstream=True)
        client.xadd(
            keys.stream("slow"),
            {
                keys.F_ID: "req-1",
                keys.F_FUNCTION: "slow",
                keys.F_VERSION: "$LATEST",
                keys.F_ARN: "arn:aws:lambda:us-east-1:000000000000:function:slow",
                keys.F_PAYLOAD: "{}",
                keys.F_ENQUEUED: str(int(time.time() * 1000)),
                keys.F_CONFIG: json.dumps({"r": 2, "a": 3600}),
            },
        )
        client.close()
        env = dict(os.environ, KUMO_REDIS_URL=store.url)
        gateway = f"http://127.0.0.1:{server.server_address[1]}"
        worker = subprocess.Popen(
            [sys.executable, "-m", "kumo_cli", "worker", "--gateway-url", gateway],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert SlowInvoke.started.wait(30), "the worker never invoked the event"
        store.proc.kill()  # type: ignore[union-attr]
        store.proc.wait()  # type: ignore[union-attr]
        time.sleep(1.5)  # the worker's loops now fail to reach Redis
        began = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        worker.wait(15)
        took = time.monotonic() - began
        log = worker.stderr.read().decode()  # type: ignore[union-attr]
        assert worker.returncode == 0, log
        assert took < 3.0, f"the worker took {took:.1f}s to stop:\n{log}"
        assert "1 event(s) unfinished" in log
    finally:
        SlowInvoke.release.set()
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait(5)
        store.stop()
        server.shutdown()
        server.server_close()
