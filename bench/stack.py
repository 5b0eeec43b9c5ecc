"""The system under test, started as `make run` starts it: the Temporal dev server, the worker and
the API as processes, on a throwaway PostgreSQL cluster, with the bench's SLA policy and tokens."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import Engine, text

from caseflow.config import Settings
from caseflow.dev import temporal_command, wait_for_temporal
from caseflow.store.db import make_engine, make_sessions, migrate
from caseflow.store.people import issue_token
from caseflow.store.seed import load_reference_data
from caseflow.store.throwaway import free_port, postgres_cluster

# Who the load generator acts as: one token per role, for the seeded people.
HOLDERS = {"hotline": "HL-01", "supervisor": "SV-01", "engineer": "EN-01", "manager": "MG-01",
           "auditor": "AU-01", "monitoring": "MO-01"}

# Settings every process of the stack gets unless the environment or `--setting` says otherwise.
# Whatever throttles clients is off (0 = no limit): the load generator uses one token per role,
# and the bench measures the system, not its brakes (docs/security.md).
SETTINGS = {"CASEFLOW_LOG_FORMAT": "json", "CASEFLOW_LOG_LEVEL": "WARNING",
            "CASEFLOW_RATE_CREATE_PER_MINUTE": "0", "CASEFLOW_RATE_ACTIONS_PER_MINUTE": "0"}


def write_policy(path: Path, deadline: float) -> Path:
    """The bench's SLA policy: the packaged default with a general repair's arrival due
    `deadline` seconds after intake (the deadline the benchmarks let breach) and no per-contract
    overrides, so every unit has the same commitments. Every other commitment keeps its hours
    or days and does not fire during a run."""
    source = resources.files("caseflow.policy").joinpath("default.yaml").read_text("utf-8")
    policy: dict[str, Any] = yaml.safe_load(source)
    policy["version"] = f"bench-{deadline:g}s"
    policy["defaults"]["repair"]["arrival"]["general"]["within"] = f"{max(1, round(deadline))}s"
    policy.pop("contracts", None)
    path.write_text(yaml.safe_dump(policy, allow_unicode=True, sort_keys=False), "utf-8")
    return path


@dataclass
class Stack:
    """A running stack: where its API is, its database, tokens, and its processes."""

    api: str
    database_url: str
    temporal_address: str
    deadline: float  # seconds from intake to a general repair's arrival deadline
    tokens: dict[str, str]
    workdir: Path
    processes: dict[str, subprocess.Popen[bytes]]
    engine: Engine = field(repr=False)
    bare: str | None = None  # the bare pipeline's base URL, once started

    def memory(self) -> dict[str, dict[str, float]]:
        """Resident memory (MB) of each process with its children, now and at its peak."""
        return {name: process_memory(process.pid) for name, process in self.processes.items()}

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each process of the stack (the bare pipeline's too, once
        started), by PostgreSQL (the server and its backends), and by the whole machine (the
        load generator and anything else running, other people's work included)."""
        used = {name: cpu_seconds(process.pid) for name, process in self.processes.items()}
        postmaster = postgres_pid(self.database_url)
        if postmaster is not None:
            used["postgres"] = cpu_seconds(postmaster)
        return {**used, "machine": machine_busy_seconds()}

    def start_bare(self) -> str:
        """Start the bare pipeline (bench/bare.py: its API and its worker) on this stack's dev
        server and PostgreSQL; its base URL once it answers (started once per stack)."""
        if self.bare is not None:
            return self.bare
        port = free_port()
        env = {**os.environ, "CASEFLOW_DATABASE_URL": self.database_url,
               "CASEFLOW_TEMPORAL_ADDRESS": self.temporal_address, "BARE_PORT": str(port)}
        for name in ("bare_worker", "bare_api"):
            log = (self.workdir / f"{name}.log").open("wb")
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "bench.bare", name.removeprefix("bare_")], env=env,
                stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parent.parent)
        url = f"http://127.0.0.1:{port}"
        until = time.monotonic() + 60
        try:
            while time.monotonic() < until:
                self.check()
                try:
                    if httpx.post(f"{url}/bare", timeout=5).status_code == 201:
                        self.bare = url
                        return url
                except httpx.HTTPError:
                    pass
                time.sleep(0.3)
            raise RuntimeError(f"the bare pipeline did not come up; see {self.workdir}")
        except BaseException:  # stopped, so that asking again starts a pair afresh
            stop({name: self.processes.pop(name) for name in ("bare_worker", "bare_api")})
            raise

    def opening(self) -> int:
        """Cases whose intake the worker has not recorded yet."""
        with self.engine.connect() as connection:
            return connection.scalar(text("SELECT count(*) FROM cases "
                                          "WHERE status = 'opening'")) or 0

    def check(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"the {name} process exited ({process.returncode}); "
                                   f"see {self.workdir / (name + '.log')}")


def process_memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process and its descendants, in MB, from /proc."""
    pids = [pid, *descendants(pid)]
    rss = peak = 0.0
    for one in pids:
        try:
            status = Path(f"/proc/{one}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        rss += int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
        peak += int(fields.get("VmHWM", "0 kB").split()[0]) / 1024
    return {"rss_mb": round(rss, 1), "peak_rss_mb": round(peak, 1)}


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        parent = int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@contextmanager
def running_stack(deadline: float, settings: dict[str, str] | None = None,
                  keep: bool = False) -> Iterator[Stack]:
    """Start PostgreSQL, the Temporal dev server, the worker and the API; yield the stack once a
    case opens and answers; stop everything (and remove its files unless `keep`)."""
    compile_bytecode()
    workdir = Path(tempfile.mkdtemp(prefix="caseflow-bench-"))
    with ExitStack() as cleanup:
        if not keep:
            cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        database_url = cleanup.enter_context(postgres_cluster())
        migrate(database_url)
        engine = make_engine(database_url)
        cleanup.callback(engine.dispose)
        sessions = make_sessions(engine)
        load_reference_data(sessions)
        with sessions.begin() as session:
            tokens = {role: issue_token(session, person, f"bench {role}")[0]
                      for role, person in HOLDERS.items()}
        api_port = free_port()
        core = Settings(temporal_address=f"127.0.0.1:{free_port()}",
                        temporal_ui_port=free_port(), data_dir=workdir)
        env = {**SETTINGS, **os.environ, **(settings or {}),
               "CASEFLOW_DATABASE_URL": database_url,
               "CASEFLOW_TEMPORAL_ADDRESS": core.temporal_address,
               "CASEFLOW_TEMPORAL_NAMESPACE": core.temporal_namespace,
               "CASEFLOW_TASK_QUEUE": core.task_queue,
               "CASEFLOW_POLICY_FILE": str(write_policy(workdir / "policy.yaml", deadline)),
               "CASEFLOW_API_HOST": "127.0.0.1", "CASEFLOW_API_PORT": str(api_port),
               "CASEFLOW_WORKER_METRICS_PORT": str(free_port()),
               "CASEFLOW_DATA_DIR": str(workdir)}
        env.pop("DATABASE_URL", None)
        processes: dict[str, subprocess.Popen[bytes]] = {}
        cleanup.callback(stop, processes)
        me = [sys.executable, "-m", "caseflow.cli"]
        for name, command in (("temporal", temporal_command(core)), ("worker", [*me, "worker"]),
                              ("api", [*me, "api"])):
            log = cleanup.enter_context((workdir / f"{name}.log").open("wb"))
            processes[name] = subprocess.Popen(command, env=env, stdout=log,
                                               stderr=subprocess.STDOUT)
            if name == "temporal":
                asyncio.run(wait_for_temporal(core, processes[name], 60))
        stack = Stack(api=f"http://127.0.0.1:{api_port}", database_url=database_url,
                      temporal_address=core.temporal_address, deadline=deadline, tokens=tokens,
                      workdir=workdir, processes=processes, engine=engine)
        wait_until_serving(stack)
        yield stack


def compile_bytecode() -> None:
    """Bytecode for caseflow's modules, as `pip install` writes it. Without it (a checkout run
    with PYTHONDONTWRITEBYTECODE=1) the workflow sandbox compiles the workflow modules from
    source for every case it starts or replays, and the bench would measure that instead."""
    import compileall

    import caseflow

    compileall.compile_dir(Path(caseflow.__file__).parent, quiet=1)


def wait_until_serving(stack: Stack, seconds: float = 90) -> None:
    """Until the API answers and a warm-up case (minor, nothing due for hours) is opened and
    answers a read, which needs the worker."""
    until = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {stack.tokens['hotline']}"}
    with httpx.Client(base_url=stack.api, timeout=10) as client:
        case_id = None
        while True:
            stack.check()
            try:
                if case_id is None:
                    if client.get("/healthz").status_code == 200:
                        created = client.post("/v1/repairs", json=repair_intake("minor"),
                                              headers={**headers,
                                                       "Idempotency-Key": uuid.uuid4().hex})
                        created.raise_for_status()
                        case_id = created.json()["case_id"]
                elif client.get(f"/v1/cases/{case_id}", headers=headers).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > until:
                raise RuntimeError(f"the stack did not come up; see the logs in {stack.workdir}")
            time.sleep(0.3)


def repair_intake(severity: str, number: int = 0) -> dict[str, Any]:
    """A repair as the hotline reports it (Chinese text, as in production)."""
    return {"reporter_name": "李医生", "reporter_phone": "0571-88886666", "hospital_id": "H-DH",
            "department": "放射科", "location": "门诊楼2层 CT室", "equipment_serial": "CT-DH-0001",
            "symptom": f"扫描时球管报警,无法出图 (bench {number})",
            "observed_at": datetime.now(timezone.utc).isoformat(), "channel": "phone",
            "severity": severity}


def stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    """Ctrl-C to each process (the API and worker first, Temporal last), then kill stragglers."""
    for process in reversed(processes.values()):
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in reversed(processes.values()):
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants so far, in seconds, those that
    have exited included (their time is added to their parent's when it reaps them: PostgreSQL's
    backends come and go)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for one in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(fields[i]) for i in (11, 12, 13, 14)) / ticks
    return total


def postgres_pid(url: str) -> int | None:
    """The postmaster serving the database at `url` (its port), if it runs on this machine."""
    port = url.rsplit(":", 1)[1].split("/", 1)[0]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if words and words[0].endswith(b"postgres") and b"-p" in words and \
                port.encode() in words:
            return int(cmdline.parent.name)
    return None


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: round(after[name] - before[name], 3) for name in after}
