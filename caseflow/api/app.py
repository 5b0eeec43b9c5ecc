"""The FastAPI application: settings, database, Temporal client and routers put together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from temporalio.client import Client

from caseflow.api import console, docs, errors, live, strict, telemetry
from caseflow.api.limits import Limiter, SignInGuard
from caseflow.api.routes import (
    alarms,
    attachments,
    audit,
    cases,
    directory,
    equipment,
    exports,
    health,
    kinds,
    notices,
    people,
    policy,
    policy_migrations,
    queues,
    regulatory,
    reliability,
    report_jobs,
    reports,
    rosters,
    steps,
    subscriptions,
    trends,
)
from caseflow.config import Settings
from caseflow.domain.kinds import KINDS
from caseflow.domain.policy_loader import load_policy
from caseflow.store.db import make_engine, make_sessions
from caseflow.store.policies import PolicySource
from caseflow.temporal import connect
from caseflow.tracing import API_SERVICE, tracer_provider


def create_app(settings: Settings, temporal: Client | None = None) -> FastAPI:
    """Build the app; the policy is loaded now so a bad policy file stops the API at start.

    With CASEFLOW_OTLP_ENDPOINT set, requests are traced (a `temporal` client given by the
    caller brings its own tracing interceptor, or none)."""
    book = load_policy(settings.policy_file)
    engine = make_engine(settings.database_url)
    tracing = tracer_provider(settings, API_SERVICE)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if temporal is None:
            app.state.temporal = await connect(settings, tracing=tracing)
        stop = asyncio.Event()
        sweep = asyncio.create_task(alarms.run_alarm_sweep(alarms.AlarmSweep(
            app.state.sessions, app.state.temporal, app.state.policies, settings),
            settings.alarm_sweep_seconds, stop)) if settings.alarm_sweep_seconds else None
        yield
        stop.set()
        if sweep is not None:
            await sweep
        engine.dispose()
        if tracing is not None:
            tracing.shutdown()  # sends the spans still batched

    app = FastAPI(title="caseflow", version="0.1.0", lifespan=lifespan,
                  description="Service cases for CT/MR maintenance, each a durable workflow.",
                  max_body_size=settings.max_body_bytes, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.sessions = make_sessions(engine)
    app.state.policies = PolicySource(app.state.sessions, book)
    app.state.temporal = temporal
    app.state.limiter = Limiter()
    app.state.sign_in_guard = SignInGuard()
    app.state.live = live.LiveFeed(app.state.sessions, settings.live_poll_seconds)
    app.state.request_metrics = telemetry.RequestMetrics()
    app.add_middleware(telemetry.ObservedRequests, metrics=app.state.request_metrics,
                       tracing=tracing)
    errors.install(app)
    app.include_router(telemetry.router)
    app.include_router(health.router, responses={503: errors.ERRORS[503]})
    # The kinds' routes (opening, viewing, steps) come from the registry; `/v1/cases/{id}`
    # after the fixed paths of `cases` (`/v1/cases/due` ...).
    for router in (cases.router, kinds.router(KINDS), equipment.router, exports.router,
                   rosters.router, subscriptions.router, audit.router, reports.router,
                   people.router, policy.router, steps.router, directory.router,
                   trends.router, reliability.router, report_jobs.router,
                   notices.router, queues.router, attachments.router,
                   policy_migrations.router, alarms.router, regulatory.router):
        app.include_router(router, responses=errors.ERRORS,
                           dependencies=[Depends(strict.known_query), Depends(strict.no_nul)])
    console.install(app)
    docs.install(app)
    return app
