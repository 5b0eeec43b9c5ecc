"""`caseflow dev` / `make run`: the whole system on one machine, stopped by Ctrl-C.

Temporal dev server (file-backed, Web UI, search attributes registered), the worker and the
API as child processes, on an embedded SQLite database with demo reference data.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

from rich.console import Console

from caseflow.config import Settings
from caseflow.store.db import make_engine, make_sessions, migrate
from caseflow.store.demo_history import import_demo_history
from caseflow.store.seed import demo_rosters, dev_logins, dev_tokens, load_reference_data
from caseflow.temporal import SEARCH_ATTRIBUTES, binary, connect

console = Console()


def prepare(settings: Settings) -> dict[str, str]:
    """Migrate the database, load the demo data; in development, a year of imported service
    history (once), one dev token and one console log-in per role (.data/dev-logins.json)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        sessions = make_sessions(engine)
        load_reference_data(sessions)
        if settings.environment != "development":
            return {}  # tokens and log-ins come from an admin, never from a file
        demo_rosters(sessions, datetime.now(timezone.utc))
        import_demo_history(sessions)  # a year of past service, once, for the reports
        dev_logins(sessions, settings.data_dir / "dev-logins.json")
        return dev_tokens(sessions, settings.data_dir / "dev-tokens.json")
    finally:
        engine.dispose()


def temporal_command(settings: Settings) -> list[str]:
    host, _, port = settings.temporal_address.rpartition(":")
    command = [binary("temporal"), "server", "start-dev",
               "--ip", host or "127.0.0.1", "--port", port,
               "--ui-port", str(settings.temporal_ui_port),
               "--namespace", settings.temporal_namespace,
               "--db-filename", str(settings.data_dir / "temporal.db"),
               "--sqlite-pragma", "journal_mode=WAL", "--sqlite-pragma", "synchronous=NORMAL",
               # errors only: at every stop its own internal clients log dial errors and failed
               # polls as warnings, which say nothing about caseflow
               "--log-level", "error"]
    for name, kind in SEARCH_ATTRIBUTES.items():
        command += ["--search-attribute", f"{name}={kind}"]
    return command


async def wait_for_temporal(settings: Settings, process: subprocess.Popen, seconds: float) -> None:
    """Until the dev server started as `process` answers; an error if it exits or takes longer."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise RuntimeError("the Temporal dev server exited; is the port "
                               f"{settings.temporal_address} already in use?")
        try:
            await connect(settings)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise RuntimeError("the Temporal dev server did not come up") from None
            await asyncio.sleep(0.3)


def _show(settings: Settings, tokens: dict[str, str],
          logins: dict[str, dict[str, str]]) -> None:
    """The dev tokens and log-ins in full, one line each (a table would cut them to fit the
    terminal), then where everything is."""
    console.print("[bold]Development API tokens[/] (.data/dev-tokens.json) and console log-ins "
                  "(.data/dev-logins.json):")
    for role, token in tokens.items():
        login = logins.get(role)
        print(f"  {role:<11} {token}"
              + (f"   {login['username']} / {login['password']}" if login else ""), flush=True)
    api = f"http://{settings.api_host}:{settings.api_port}"
    console.print(f"[bold]Console[/]      {api}/console/", soft_wrap=True)
    console.print(f"[bold]API docs[/]     {api}/docs", soft_wrap=True)
    console.print(f"[bold]Health[/]       {api}/healthz", soft_wrap=True)
    console.print(f"[bold]Temporal UI[/]  http://127.0.0.1:{settings.temporal_ui_port}",
                  soft_wrap=True)
    if settings.worker_metrics_port:
        console.print(f"[bold]Metrics[/]      {api}/metrics (API), "
                      f"http://{settings.metrics_host}:{settings.worker_metrics_port}/metrics "
                      "(worker)", soft_wrap=True)
    console.print("Walk through a repair with curl: docs/api.md. Ctrl-C stops everything.")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_dev(settings: Settings) -> int:
    # Ctrl-C or a plain kill stops everything, even when started from a background job
    # (which would otherwise inherit an ignored SIGINT).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    tokens = prepare(settings)
    logins_file = settings.data_dir / "dev-logins.json"
    logins = (json.loads(logins_file.read_text("utf-8"))
              if tokens and logins_file.exists() else {})
    env = {**os.environ, "CASEFLOW_DATABASE_URL": settings.database_url,
           "CASEFLOW_TEMPORAL_ADDRESS": settings.temporal_address,
           "CASEFLOW_DATA_DIR": str(settings.data_dir)}
    children: list[subprocess.Popen] = []
    try:
        # Each child in a session of its own: Ctrl-C reaches only this process, which stops
        # them in order (the API and the worker, then Temporal, which they still talk to).
        temporal = subprocess.Popen(temporal_command(settings), env=env, start_new_session=True)
        children.append(temporal)
        asyncio.run(wait_for_temporal(settings, temporal, 60))
        me = [sys.executable, "-m", "caseflow.cli"]
        children.append(subprocess.Popen([*me, "worker"], env=env, start_new_session=True))
        children.append(subprocess.Popen([*me, "api"], env=env, start_new_session=True))
        _show(settings, tokens, logins)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        console.print("[red]a process stopped; shutting down the rest[/]")
        return 1
    except KeyboardInterrupt:
        console.print("stopping...")
        return 0
    finally:
        # SIGTERM, as a container stop sends it: uvicorn and the worker shut down gracefully,
        # with no KeyboardInterrupt raised through their event loops.
        for child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()


