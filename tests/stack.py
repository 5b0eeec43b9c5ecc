"""Real processes a fault test can break: the Temporal dev server (file-backed) and `caseflow
worker` as children the test stops, kills and starts again, and a webhook receiver on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from caseflow.config import Settings
from caseflow.dev import temporal_command, wait_for_temporal
from tests.postgres import restartable_port


def _stop(process: subprocess.Popen | None, sig: int, seconds: float) -> None:
    """Send `sig` and wait; SIGKILL if it is still there after `seconds`."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _kill(process: subprocess.Popen | None) -> None:
    """kill -9, and wait until it is gone."""
    assert process is not None and process.poll() is None, "the process is not running"
    process.kill()
    process.wait(timeout=10)


class TemporalDevServer:
    """`temporal server start-dev` on a free port, its state in a file that outlives restarts."""

    def __init__(self, data_dir: Path) -> None:
        self.settings = Settings(temporal_address=f"127.0.0.1:{restartable_port()}",
                                 temporal_ui_port=restartable_port(), data_dir=data_dir)
        self.address = self.settings.temporal_address
        self.log = data_dir / "temporal.log"
        self.process: subprocess.Popen | None = None

    async def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(temporal_command(self.settings), stdout=log,
                                            stderr=subprocess.STDOUT)
        await wait_for_temporal(self.settings, self.process, 60)

    def stop(self) -> None:
        _stop(self.process, signal.SIGTERM, 15)

    def kill(self) -> None:
        """kill -9: the server gets no chance to flush or hand anything over."""
        _kill(self.process)


class WorkerProcess:
    """`python -m caseflow.cli worker` with the given CASEFLOW_* settings, logging JSON to a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = {**os.environ, "CASEFLOW_LOG_FORMAT": "json", **env}
        self.log = log
        self.process: subprocess.Popen | None = None
        self.starts = 0

    async def start(self, seconds: float = 60) -> None:
        """Start it and wait until it says it is polling."""
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("a") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "caseflow.cli", "worker"],
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.starts += 1
        deadline = time.monotonic() + seconds
        while b"worker started" not in self.log.read_bytes()[offset:]:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited at start:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start in {seconds} s:\n{self.tail()}")
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        """kill -9: no shutdown, whatever it was doing is cut off."""
        _kill(self.process)

    def stop(self) -> None:
        _stop(self.process, signal.SIGINT, 15)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text("utf-8", "replace").splitlines()[-lines:])


class WebhookReceiver:
    """A chat-robot endpoint on loopback: answers {"errcode": 0} and counts each delivery by
    its X-Caseflow-Delivery dedupe key (a copy sent again counts twice)."""

    def __init__(self) -> None:
        self.deliveries: Counter[str] = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.deliveries[self.headers.get("X-Caseflow-Delivery", "")] += 1
                answer = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def received(self, keys: set[str]) -> Counter[str]:
        """How often each of `keys` arrived (those never delivered are left out)."""
        with self.lock:
            return Counter({k: n for k, n in self.deliveries.items() if k in keys})
