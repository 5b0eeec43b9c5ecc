"""Dependencies that route signatures read like sentences: sessions, Temporal, policy, settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from caseflow.config import Settings
from caseflow.domain.policy_loader import PolicyBook
from caseflow.store.db import Db, unit

T = TypeVar("T")


# The dependencies below that do no I/O are `async def`: FastAPI runs a plain `def` dependency
# in the thread pool, a hop between threads for each (a tenth of the API's CPU per intake).


async def _sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


async def _session(request: Request) -> AsyncIterator[Session]:
    """One database session for the request, closed after it: a plain `def` route that takes
    it runs in the thread pool (FastAPI's template); writes say `with session.begin():`. An
    `async` route (it awaits Temporal too) hands it to `in_thread`. Making a session connects
    to nothing; closing one that still holds its connection (a route that read without
    `begin()`) gives the connection back in the thread pool, as the database is asked then."""
    session = request.app.state.sessions()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


async def in_thread(db: Db, work: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`work(session, ...)`, a function of the store, in the thread pool as one transaction
    (`store/db.py` `unit`): how an async route does its database work between its awaits on
    Temporal, one unit after the other, so the session is never in two threads at once."""
    return await run_in_threadpool(unit, db, work, *args, **kwargs)


async def _temporal(request: Request) -> Client:
    return request.app.state.temporal


async def _policy(request: Request) -> PolicyBook:
    """The policy in force (cached; a policy put in force reaches every API process within
    seconds)."""
    policies = request.app.state.policies
    book = policies.fresh()
    return book if book is not None else await run_in_threadpool(policies.current)


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


# A route running database work at once in several tasks (the alarms' episodes) takes the
# sessionmaker: each unit then has a session of its own.
SessionsDep = Annotated[sessionmaker[Session], Depends(_sessions)]
SessionDep = Annotated[Session, Depends(_session)]
TemporalDep = Annotated[Client, Depends(_temporal)]
PolicyDep = Annotated[PolicyBook, Depends(_policy)]
SettingsDep = Annotated[Settings, Depends(_settings)]
