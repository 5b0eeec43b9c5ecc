"""A throwaway PostgreSQL cluster on loopback (initdb as `postgres`), for the tests and the
benchmarks: started on a free port, dropped with everything in it afterwards."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _bindir() -> Path:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=True)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    for version in ("17", "16", "15"):
        candidate = Path(f"/usr/lib/postgresql/{version}/bin")
        if (candidate / "initdb").exists():
            return candidate
    raise RuntimeError("PostgreSQL server binaries not found (make test / make bench install "
                       "postgresql)")


def postgres_version() -> str:
    """The server binaries' version, e.g. `postgres (PostgreSQL) 15.8`."""
    return subprocess.run([str(_bindir() / "postgres"), "--version"], capture_output=True,
                          text=True, check=True).stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def restartable_port() -> int:
    """A free port below the kernel's ephemeral range. A server that a test stops and starts
    again keeps it: no outgoing connection is given it while the server is down (a port from
    free_port() can be, and then the restart fails with "address already in use")."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(100):
        port = random.randrange(10000, max(low, 10001))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


PREFIX = "caseflow-pg-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphans(bindir: Path) -> None:
    """Stop and remove clusters left by runs that were killed before their teardown."""
    for root in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        owner = root / "owner.pid"
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            continue
        if _alive(pid):
            continue  # another run on this machine still uses it
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m",
                                     "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


class PostgresServer:
    """A running throwaway cluster that a test may stop (as a crash or a clean shutdown) and
    start again on the same port and data, to see what the system does without its database."""

    def __init__(self, bindir: Path, root: Path, port: int, options: str) -> None:
        self.bindir, self.root, self.port, self.options = bindir, root, port, options
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/caseflow"

    def _ctl(self, *args: str, check: bool = True) -> None:
        subprocess.run(_as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"),
                                     *args]), check=check, capture_output=True)

    def start(self) -> None:
        self._ctl("-o", self.options, "-l", str(self.root / "log"), "-w", "start")
        for _ in range(100):
            ready = subprocess.run([str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p",
                                    str(self.port)], capture_output=True)
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL on port {self.port} did not become ready")

    def stop(self, mode: str = "immediate") -> None:
        """`immediate`: like a crash (recovery on the next start); `fast`: a clean shutdown.
        Either way every open connection is cut."""
        self._ctl("-m", mode, "stop", check=False)


@contextmanager
def postgres_server(*, durable: bool = False) -> Iterator[PostgresServer]:
    """Start a cluster on a free port with a fresh database `caseflow`; drop it all afterwards.

    Not `durable` (the default, for speed): commits are acknowledged before their WAL is written,
    so a crash-stop may lose the last ones. `durable` keeps PostgreSQL's own guarantee that an
    acknowledged commit survives `stop("immediate")`, for tests that stop the database (fsync
    stays off either way: the machine itself does not crash in a test).
    """
    bindir = _bindir()
    reap_orphans(bindir)
    root = Path(tempfile.mkdtemp(prefix=PREFIX))
    (root / "owner.pid").write_text(str(os.getpid()))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                                 "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"]),
                   check=True, capture_output=True)
    port = restartable_port()
    options = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off " \
              f"-c synchronous_commit={'on' if durable else 'off'} " \
              f"-c full_page_writes=off -c max_connections=200"
    server = PostgresServer(bindir, root, port, options)
    try:
        server.start()
        subprocess.run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                        "postgres", "caseflow"], check=True, capture_output=True)
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a cluster on a free port; yield a SQLAlchemy URL of a fresh database; drop it all."""
    with postgres_server() as server:
        yield server.url
