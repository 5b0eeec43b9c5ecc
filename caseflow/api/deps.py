"""Dependencies that route signatures read like sentences: sessions, Temporal, policy, settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from caseflow.config import Settings
from caseflow.domain.policy_loader import PolicyBook


def _sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


def _session(request: Request) -> Iterator[Session]:
    """One database session for the request, closed after it: a plain `def` route that takes
    it runs in the thread pool (FastAPI's template); writes say `with session.begin():`."""
    with request.app.state.sessions() as session:
        yield session


def _temporal(request: Request) -> Client:
    return request.app.state.temporal


async def _policy(request: Request) -> PolicyBook:
    """The policy in force (cached; a policy put in force reaches every API process within
    seconds)."""
    return await run_in_threadpool(request.app.state.policies.current)


def _settings(request: Request) -> Settings:
    return request.app.state.settings


SessionsDep = Annotated[sessionmaker[Session], Depends(_sessions)]
SessionDep = Annotated[Session, Depends(_session)]
TemporalDep = Annotated[Client, Depends(_temporal)]
PolicyDep = Annotated[PolicyBook, Depends(_policy)]
SettingsDep = Annotated[Settings, Depends(_settings)]
