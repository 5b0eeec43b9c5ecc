"""Dependencies that route signatures read like sentences: sessions, Temporal, policy, settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from caseflow.config import Settings
from caseflow.domain.policy_loader import PolicyBook


def _sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


def _temporal(request: Request) -> Client:
    return request.app.state.temporal


async def _policy(request: Request) -> PolicyBook:
    """The policy in force (cached; a policy put in force reaches every API process within
    seconds)."""
    return await run_in_threadpool(request.app.state.policies.current)


def _settings(request: Request) -> Settings:
    return request.app.state.settings


SessionsDep = Annotated[sessionmaker[Session], Depends(_sessions)]
TemporalDep = Annotated[Client, Depends(_temporal)]
PolicyDep = Annotated[PolicyBook, Depends(_policy)]
SettingsDep = Annotated[Settings, Depends(_settings)]
