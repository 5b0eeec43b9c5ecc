"""Session fixtures: a real PostgreSQL, the time-skipping Temporal test server, a worker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from caseflow.api.app import create_app
from caseflow.config import Settings
from caseflow.domain.policy_loader import PolicyBook, load_policy
from caseflow.store.db import make_engine, make_sessions, migrate
from caseflow.store.people import issue_token
from caseflow.store.policies import PolicySource
from caseflow.store.seed import load_reference_data
from caseflow.temporal import DATA_CONVERTER, binary, ensure_search_attributes
from caseflow.worker import build_worker
from tests import invariants
from tests.invariants import OpenCommitmentWatch
from tests.postgres import postgres_cluster
from tests.waiting import until


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with postgres_cluster() as url:
        migrate(url)
        yield url


@pytest.fixture(scope="session")
def sessions(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    factory = make_sessions(engine)
    load_reference_data(factory)
    yield factory
    engine.dispose()


@pytest.fixture(scope="session")
def policy_book() -> PolicyBook:
    return load_policy()


@asynccontextmanager
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server (the pip-installed binary), search attributes registered."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER,
        test_server_existing_path=binary("temporal-test-server"))
    try:
        await ensure_search_attributes(env.client)
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping() as env:
        yield env


@asynccontextmanager
async def running_worker(env: WorkflowEnvironment | Client, sessions, prefix: str) -> AsyncIterator[Worker]:  # type: ignore[no-untyped-def]
    """caseflow's worker, with real activities, on a fresh task queue of `env` (or client).
    Its workflows run in the full sandbox (as replay does), so code that breaks it fails the
    tests; the worker processes of the end-to-end and fault tests run the production setting."""
    client = env if isinstance(env, Client) else env.client
    with ThreadPoolExecutor(max_workers=32) as executor:
        async with build_worker(client, sessions, f"{prefix}-{uuid.uuid4()}",
                                executor, PolicySource(sessions, load_policy()),
                                sandbox="full", interceptors=[OpenCommitmentWatch()]) as worker:
            yield worker


@asynccontextmanager
async def private_server(sessions, prefix: str) -> AsyncIterator[tuple[WorkflowEnvironment, str]]:  # type: ignore[no-untyped-def]
    """A time-skipping server of a test module's own, with a worker: (env, task queue). For
    tests that skip days or years, which must not move the shared server's clock."""
    async with time_skipping() as env, running_worker(env, sessions, prefix) as worker:
        yield env, worker.task_queue


@pytest.fixture(scope="module")
async def private_env(request, sessions) -> AsyncIterator[tuple[WorkflowEnvironment, str]]:  # type: ignore[no-untyped-def]
    """The test module's own time-skipping server and worker: (env, task queue)."""
    prefix = "ts-" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    async with private_server(sessions, prefix) as server:
        yield server


@pytest.fixture
def env(private_env) -> WorkflowEnvironment:  # type: ignore[no-untyped-def]
    return private_env[0]


@pytest.fixture(scope="session")
async def ts_worker(ts_env: WorkflowEnvironment, sessions) -> AsyncIterator[Worker]:  # type: ignore[no-untyped-def]
    async with running_worker(ts_env, sessions, "ts") as worker:
        yield worker


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (for API tests, where time runs normally)."""
    env = await WorkflowEnvironment.start_local(
        data_converter=DATA_CONVERTER, dev_server_existing_path=binary("temporal"),
        dev_server_log_level="error")
    await ensure_search_attributes(env.client)
    yield env
    await env.shutdown()


async def namespace_of_its_own(env: WorkflowEnvironment, prefix: str) -> Client:
    """A client of a new namespace on `env`'s dev server, search attributes registered: for a
    stack with a database of its own, whose case numbers would otherwise name workflows of the
    session's database (the workflow id is the case number)."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    request = RegisterNamespaceRequest(
        namespace=name, workflow_execution_retention_period=Duration(seconds=86400))

    async def registered() -> bool:
        # Under the full suite's load the dev server may drop the call ("operation was
        # canceled"); asked again, a namespace the dropped call did register already exists.
        try:
            await env.client.workflow_service.register_namespace(
                request, timeout=timedelta(seconds=20))
        except RPCError as error:
            if error.status == RPCStatusCode.ALREADY_EXISTS:
                return True
            if error.status not in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED,
                                    RPCStatusCode.UNAVAILABLE):
                raise
            return False
        return True

    await until(registered, f"namespace {name} registered", seconds=60)
    client = await Client.connect(env.client.service_client.config.target_host, namespace=name,
                                  data_converter=DATA_CONVERTER)
    await ensure_search_attributes(client)
    return client


@pytest.fixture(scope="session")
async def dev_worker(dev_env: WorkflowEnvironment, sessions) -> AsyncIterator[Worker]:  # type: ignore[no-untyped-def]
    async with running_worker(dev_env, sessions, "api") as worker:
        yield worker


@pytest.fixture(scope="session")
def tokens(sessions) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """One fresh token per seeded person: role -> token (engineer2 is EN-02, an unassigned one)."""
    holders = {"hotline": "HL-01", "supervisor": "SV-01", "engineer": "EN-01",
               "engineer2": "EN-02", "manager": "MG-01", "director": "DR-01",
               "auditor": "AU-01", "admin": "AD-01", "monitoring": "MO-01",
               "regulatory": "RA-01"}
    with sessions.begin() as session:
        return {role: issue_token(session, person, f"test {role}")[0]
                for role, person in holders.items()}


@pytest.fixture(scope="session")
async def api(database_url: str, dev_env: WorkflowEnvironment, dev_worker: Worker,
              sessions) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """An HTTP client for the API app, in process, on PostgreSQL and the dev server."""
    settings = Settings(database_url=database_url, task_queue=dev_worker.task_queue,
                        environment="test")
    app = create_app(settings, temporal=dev_env.client)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://caseflow.test",
                                 timeout=30) as client:
        yield client


@pytest.fixture(autouse=True)
def no_case_without_a_clock() -> Iterator[None]:
    """Every case the tests' workers run keeps the invariant of tests/invariants.py: until a
    case is final, one of its commitments is open. A case of an earlier test that breaks it
    while this one runs is named in the failure."""
    invariants.SEEN.clear()
    yield
    seen, invariants.SEEN[:] = list(invariants.SEEN), []
    assert not seen, "no case without a clock:\n" + "\n".join(sorted({str(v) for v in seen}))


# ----- the console's browser tests: one API serving the console and one Chromium per module -----

@pytest.fixture(scope="module")
async def console(database_url, dev_env, dev_worker) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    """The API and its console on a free port, on the module's database and worker."""
    from tests.console_driver import served
    from tests.postgres import free_port

    settings = Settings(database_url=database_url, task_queue=dev_worker.task_queue,
                        environment="test")
    async with served(create_app(settings, temporal=dev_env.client), free_port()) as base:
        yield base


@pytest.fixture(scope="module")
async def chromium():  # type: ignore[no-untyped-def]
    """Debian's Chromium, one per module."""
    from tests.console_driver import browser

    async with browser() as launched:
        yield launched
