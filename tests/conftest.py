"""Session fixtures: a real PostgreSQL, the time-skipping Temporal test server, a worker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from caseflow.domain.policy_loader import PolicyBook, load_policy
from caseflow.store.db import make_engine, make_sessions, migrate
from caseflow.store.seed import load_reference_data
from caseflow.temporal import binary, ensure_search_attributes
from caseflow.worker import build_worker
from tests.postgres import postgres_cluster


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


@pytest.fixture(scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=binary("temporal-test-server"))
    await ensure_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def ts_worker(ts_env: WorkflowEnvironment, sessions) -> AsyncIterator[Worker]:  # type: ignore[no-untyped-def]
    queue = f"ts-{uuid.uuid4()}"
    with ThreadPoolExecutor(max_workers=32) as executor:
        worker = build_worker(ts_env.client, sessions, queue, executor)
        async with worker:
            yield worker
