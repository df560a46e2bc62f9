"""Two real ``kumo worker`` processes on a real Redis run the published event sources: a schedule whose
latest tick was missed fires exactly once (not once per worker, and not the older missed ticks), and a
queue mapping's messages reach the function as an SQS event. The "gateway" is a real HTTP server that
records the Invoke calls it gets."""

from __future__ import annotations

import asyncio
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
from redis.asyncio import Redis as AsyncRedis
from redis_process import RedisProcess
from support import wait_until

from kumo import schedules
from kumo.models import Function
from kumo_gateway.async_ import keys
from kumo_gateway.event_sources import SOURCES_KEY, document
from kumo_gateway.sqs.queue_store import QueueStore


class Recorder(BaseHTTPRequestHandler):
    calls: list[tuple[str, dict]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        with Recorder.lock:
            Recorder.calls.append((self.path, json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"null")

    def log_message(self, *args: object) -> None:
        pass


def function(name: str, events: list[dict]) -> Function:
    spec = {"runtime": "python3.11", "handler": "app.handler", "code": {"inline": {"app.py": "x"}}, "events": events}
    return Function.model_validate({"metadata": {"name": name}, "spec": spec})


def test_two_workers_fire_a_missed_tick_once_and_poll_queues(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    store = RedisProcess(tmp_path)
    store.start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        client = redis.Redis(port=store.port)
        functions = [function("ticker", [{"schedule": "rate(1 minute)"}]), function("consumer", [{"queue": "jobs"}])]
        client.set(SOURCES_KEY, document(functions, "us-east-1", "000000000000"))
        while 60 - time.time() % 60 < 20:  # keep the next minute's tick out of the test's window
            time.sleep(0.5)
        latest = schedules.latest_tick(schedules.parse("rate(1 minute)"), time.time())
        assert latest is not None
        client.set(keys.schedule_tick("ticker", "rate(1 minute)"), latest - 600)  # workers were down 10 minutes

        async def send() -> None:
            queue_redis = AsyncRedis(port=store.port)
            queues = QueueStore(queue_redis)
            await queues.create("jobs", {})
            await queues.send("jobs", "hello")
            await queue_redis.aclose()

        asyncio.run(send())
        env = dict(os.environ, KUMO_REDIS_URL=store.url)
        gateway = f"http://127.0.0.1:{server.server_address[1]}"
        for index in range(2):
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "kumo_cli", "worker", "--gateway-url", gateway, "--consumer", f"w{index}"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

        def by(name: str) -> list[dict]:
            with Recorder.lock:
                return [body for path, body in Recorder.calls if f"/functions/{name}/" in path]

        wait_until(lambda: by("ticker") and by("consumer"), timeout=30, what="the tick and the queue batch")
        time.sleep(2.0)  # both workers have looked at the schedule several times by now
        ticks = by("ticker")
        assert len(ticks) == 1, ticks
        event = ticks[0]
        assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
        assert event["time"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(latest))  # only the latest
        assert int(client.get(keys.schedule_tick("ticker", "rate(1 minute)"))) == latest
        (batch,) = by("consumer")
        assert [r["body"] for r in batch["Records"]] == ["hello"]
        assert batch["Records"][0]["eventSource"] == "aws:sqs"
        client.close()
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(5)
        store.stop()
        server.shutdown()
        server.server_close()
