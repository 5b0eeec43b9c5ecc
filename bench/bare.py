"""The bare pipeline caseflow's intake and steps are measured against: a FastAPI endpoint that
writes one row to PostgreSQL and starts a workflow that sets one timer, and one that writes one
row, sends the workflow an update (its handler counts the step and answers the count) and reads
its state by a query, served by uvicorn and a Temporal worker of its own, on the same dev server
and PostgreSQL as the stack (docs/performance.md).

    python -m bench.bare api     # CASEFLOW_DATABASE_URL, CASEFLOW_TEMPORAL_ADDRESS, BARE_PORT
    python -m bench.bare worker

It is what any Temporal service does at its least, with the same libraries (FastAPI, SQLAlchemy
with psycopg, the Python SDK with its default sandbox); caseflow's intake adds its checks, the
pinned policy, the numbered case row, the intake's timeline and notices, and the deadlines; its
step adds the checks of who may do what now, the recording local activity (timeline, projection,
notices), the deadlines' timers and the view the query answers. A bare case may also be opened
with some of caseflow's step's Temporal parts (`FEATURES`): bench/floor.py measures what each
costs.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import timedelta
from functools import cache
from typing import Any

from temporalio import activity, workflow
from temporalio.common import SearchAttributeKey

TASK_QUEUE = "bare"
# What a bare case may do besides counting its steps (bench/floor.py), as caseflow's does:
# "upsert" sets a keyword search attribute at each step (caseflow's CaseStatus), "record" writes
# one row in a local activity at the intake and at each step (caseflow's recording), "view"
# answers the query with VIEW_BYTES of state (about a repair's case view). A bare case's update
# carries the action's name only, not a step's payload, so its history is lighter than the same
# shape with caseflow's payloads.
FEATURES = ("upsert", "record", "view")
VIEW_BYTES = 6000
# caseflow's own attribute, registered on the stack's dev server: the bare cases of a bench
# stack share it with the cases there, harmlessly (the stack is thrown away).
STATUS = SearchAttributeKey.for_keyword("CaseStatus")


@activity.defn
def record_step(name: str, action: str) -> None:
    """A bare case's recording: one row a step (and one for the intake), in a transaction."""
    with _engine().begin() as connection:
        connection.execute(_tables()[1].insert().values(name=name, action=action))


@workflow.defn
class BareWorkflow:
    """One timer, an hour long (nothing fires while the bench runs), and the steps reported."""

    @workflow.init
    def __init__(self, name: str, features: list[str] | None = None) -> None:
        self.name = name
        self.features = set(features or ())
        self.steps = 0
        self.last = ""

    @workflow.run
    async def run(self, name: str, features: list[str] | None = None) -> str:
        if "record" in self.features:  # the intake too, as caseflow records it
            await self._record("intake")
        await workflow.sleep(timedelta(hours=1))
        return name

    @workflow.update
    async def step(self, action: str) -> int:
        self.steps += 1
        self.last = action
        if "upsert" in self.features:
            workflow.upsert_search_attributes([STATUS.value_set(action)])
        if "record" in self.features:
            await self._record(action)
        return self.steps

    async def _record(self, action: str) -> None:
        await workflow.execute_local_activity(record_step, args=[self.name, action],
                                              start_to_close_timeout=timedelta(seconds=30))

    @workflow.query
    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"steps": self.steps, "last": self.last}
        if "view" in self.features:
            state["view"] = "v" * VIEW_BYTES
        return state


@cache
def _engine() -> Any:
    """The process's engine (the API's and the worker's activities'), made once."""
    from sqlalchemy import create_engine

    return create_engine(os.environ["CASEFLOW_DATABASE_URL"], pool_size=20)


@cache
def _tables() -> tuple[Any, Any]:
    """The bare cases and their steps, made once: a table made again for each statement would
    compile its insert again, which is not what a service does."""
    from sqlalchemy import Column, Integer, MetaData, String, Table

    metadata = MetaData()
    rows = Table("bare_cases", metadata, Column("id", Integer, primary_key=True),
                 Column("name", String(64), unique=True))
    steps = Table("bare_steps", metadata, Column("id", Integer, primary_key=True),
                  Column("name", String(64), nullable=False),
                  Column("action", String(64), nullable=False))
    return rows, steps


def app():  # type: ignore[no-untyped-def]
    from fastapi import FastAPI, HTTPException
    from starlette.concurrency import run_in_threadpool
    from temporalio.client import Client

    engine = _engine()
    rows, steps = _tables()
    rows.metadata.create_all(engine)
    api = FastAPI()
    clients: list[Client] = []

    @api.on_event("startup")
    async def connect() -> None:
        clients.append(await Client.connect(os.environ["CASEFLOW_TEMPORAL_ADDRESS"]))

    @api.post("/bare", status_code=201)
    async def open_bare(features: str = "") -> dict[str, str]:
        wanted = [f for f in features.split(",") if f]
        if set(wanted) - set(FEATURES):
            raise HTTPException(422, f"features: one of {', '.join(FEATURES)}")
        name = uuid.uuid4().hex

        def insert() -> None:
            with engine.begin() as connection:
                connection.execute(rows.insert().values(name=name))

        await run_in_threadpool(insert)
        await clients[0].start_workflow(BareWorkflow.run, args=[name, wanted] if wanted else [name],
                                        id=f"bare-{name}", task_queue=TASK_QUEUE)
        return {"id": name}

    @api.post("/bare/{name}/steps/{action}")
    async def step(name: str, action: str) -> dict[str, Any]:
        def insert() -> None:
            with engine.begin() as connection:
                connection.execute(steps.insert().values(name=name, action=action))

        await run_in_threadpool(insert)
        handle = clients[0].get_workflow_handle(f"bare-{name}")
        await handle.execute_update(BareWorkflow.step, action)
        return await handle.query(BareWorkflow.state)

    return api


async def worker() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from temporalio.client import Client
    from temporalio.worker import Worker

    client = await Client.connect(os.environ["CASEFLOW_TEMPORAL_ADDRESS"])
    with ThreadPoolExecutor(max_workers=16) as executor:
        await Worker(client, task_queue=TASK_QUEUE, workflows=[BareWorkflow],
                     activities=[record_step], activity_executor=executor).run()


if __name__ == "__main__":
    if sys.argv[1:] == ["api"]:
        import uvicorn

        uvicorn.run(app(), host="127.0.0.1", port=int(os.environ["BARE_PORT"]),
                    log_level="warning")
    elif sys.argv[1:] == ["worker"]:
        asyncio.run(worker())
    else:
        sys.exit("usage: python -m bench.bare api|worker")
