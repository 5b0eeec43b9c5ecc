"""The bare pipeline caseflow's intake is measured against: a FastAPI endpoint that writes one
row to PostgreSQL and starts a workflow that sets one timer, served by uvicorn and a Temporal
worker of its own, on the same dev server and PostgreSQL as the stack (docs/performance.md).

    python -m bench.bare api     # CASEFLOW_DATABASE_URL, CASEFLOW_TEMPORAL_ADDRESS, BARE_PORT
    python -m bench.bare worker

It is what any Temporal service does at its least, with the same libraries (FastAPI, SQLAlchemy
with psycopg, the Python SDK with its default sandbox); caseflow's intake adds its checks, the
pinned policy, the numbered case row, the intake's timeline and notices, and the deadlines.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import timedelta

from temporalio import workflow

TASK_QUEUE = "bare"


@workflow.defn
class BareWorkflow:
    """One timer, an hour long (nothing fires while the bench runs)."""

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.sleep(timedelta(hours=1))
        return name


def app():  # type: ignore[no-untyped-def]
    from fastapi import FastAPI
    from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine
    from starlette.concurrency import run_in_threadpool
    from temporalio.client import Client

    engine = create_engine(os.environ["CASEFLOW_DATABASE_URL"], pool_size=20)
    rows = Table("bare_cases", MetaData(), Column("id", Integer, primary_key=True),
                 Column("name", String(64), unique=True))
    rows.metadata.create_all(engine)
    api = FastAPI()
    clients: list[Client] = []

    @api.on_event("startup")
    async def connect() -> None:
        clients.append(await Client.connect(os.environ["CASEFLOW_TEMPORAL_ADDRESS"]))

    @api.post("/bare", status_code=201)
    async def open_bare() -> dict[str, str]:
        name = uuid.uuid4().hex

        def insert() -> None:
            with engine.begin() as connection:
                connection.execute(rows.insert().values(name=name))

        await run_in_threadpool(insert)
        await clients[0].start_workflow(BareWorkflow.run, name, id=f"bare-{name}",
                                        task_queue=TASK_QUEUE)
        return {"id": name}

    return api


async def worker() -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker

    client = await Client.connect(os.environ["CASEFLOW_TEMPORAL_ADDRESS"])
    await Worker(client, task_queue=TASK_QUEUE, workflows=[BareWorkflow]).run()


if __name__ == "__main__":
    if sys.argv[1:] == ["api"]:
        import uvicorn

        uvicorn.run(app(), host="127.0.0.1", port=int(os.environ["BARE_PORT"]),
                    log_level="warning")
    elif sys.argv[1:] == ["worker"]:
        asyncio.run(worker())
    else:
        sys.exit("usage: python -m bench.bare api|worker")
