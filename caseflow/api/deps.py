"""Dependencies that route signatures read like sentences: sessions, Temporal, policy, settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from caseflow.config import Settings
from caseflow.domain.policy_loader import PolicyBook


def _sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


def _temporal(request: Request) -> Client:
    return request.app.state.temporal


def _policy(request: Request) -> PolicyBook:
    return request.app.state.policy


def _settings(request: Request) -> Settings:
    return request.app.state.settings


SessionsDep = Annotated[sessionmaker[Session], Depends(_sessions)]
TemporalDep = Annotated[Client, Depends(_temporal)]
PolicyDep = Annotated[PolicyBook, Depends(_policy)]
SettingsDep = Annotated[Settings, Depends(_settings)]
