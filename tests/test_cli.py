"""The `caseflow` command: refuses to start on a bad policy file, saying where and why; stops a
worker cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueKind
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from caseflow.store.db import migrate


def test_worker_refuses_to_start_with_a_bad_policy_file(tmp_path: Path):
    bad = tmp_path / "policy.yaml"
    source = (Path(__file__).parent.parent / "caseflow" / "policy" / "default.yaml").read_text()
    bad.write_text(source.replace("minor:    {within: 24h,", "minor:    {within: 24 hours,"),
                   "utf-8")
    done = subprocess.run([sys.executable, "-m", "caseflow.cli", "worker"], capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "CASEFLOW_POLICY_FILE": str(bad),
                               "CASEFLOW_TEMPORAL_ADDRESS": "127.0.0.1:1"})
    assert done.returncode == 2
    message = " ".join((done.stdout + done.stderr).split())
    assert str(bad) in message
    assert "defaults.repair.arrival.minor.within" in message
    assert "is not a duration" in message


def test_seed_outside_development_writes_no_token_file(tmp_path: Path):
    done = subprocess.run([sys.executable, "-m", "caseflow.cli", "seed"], capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "CASEFLOW_ENVIRONMENT": "production",
                               "CASEFLOW_DATA_DIR": str(tmp_path),
                               "CASEFLOW_DATABASE_URL": f"sqlite:///{tmp_path}/caseflow.db"})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "caseflow.db").exists()
    assert not (tmp_path / "dev-tokens.json").exists()


async def test_worker_stops_cleanly_on_sigterm(dev_env, tmp_path: Path):
    """docker stop and Kubernetes send SIGTERM: the worker shuts down and exits 0 instead of
    being killed mid-activity."""
    database = f"sqlite:///{tmp_path}/caseflow.db"
    migrate(database)  # its own database: this worker's outbox and sealer touch no other test's
    env = {**os.environ, "CASEFLOW_DATABASE_URL": database, "CASEFLOW_ENVIRONMENT": "test",
           "CASEFLOW_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
           "CASEFLOW_TASK_QUEUE": f"sigterm-{uuid.uuid4()}", "CASEFLOW_LOG_FORMAT": "json",
           "CASEFLOW_WORKER_METRICS_PORT": "0"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "caseflow.cli", "worker", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    assert process.stderr is not None
    try:
        async with asyncio.timeout(60):
            while b"worker started" not in (line := await process.stderr.readline()):
                assert line, "the worker exited before it started"
        # Until Temporal lists it as a poller of its queue (an event, not a guess of time).
        queue = TaskQueue(name=env["CASEFLOW_TASK_QUEUE"], kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL)
        async with asyncio.timeout(60):
            while not (await dev_env.client.workflow_service.describe_task_queue(
                    DescribeTaskQueueRequest(namespace=dev_env.client.namespace,
                                             task_queue=queue))).pollers:
                await asyncio.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            rest = await process.stderr.read()
            code = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert code == 0, rest.decode()
    assert b"worker stopped" in rest
