"""GET /livez: the process answers (liveness); GET /healthz: it also reaches the database and
Temporal (readiness, 503 when either is down)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from caseflow.api.deps import SessionsDep, TemporalDep

router = APIRouter(tags=["health"])


@router.get("/livez")
async def livez() -> dict:
    """Touches nothing else: a dead database must not get healthy API processes restarted."""
    return {"status": "alive"}


@router.get("/healthz")
async def healthz(response: Response, sessions: SessionsDep, temporal: TemporalDep) -> dict:
    def database() -> bool:
        try:
            with sessions() as session:
                session.execute(text("select 1"))
            return True
        except Exception:
            return False

    checks = {"database": await run_in_threadpool(database)}
    try:
        checks["temporal"] = await temporal.service_client.check_health()
    except Exception:
        checks["temporal"] = False
    ok = all(checks.values())
    response.status_code = 200 if ok else 503
    return {"status": "ok" if ok else "degraded", **checks}
