"""GET /livez: the process answers (liveness); GET /healthz: it also reaches the database and
Temporal (readiness, 503 when either is down)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from caseflow.api.deps import SessionDep, TemporalDep, in_thread
from caseflow.store.db import ping

router = APIRouter(tags=["health"])


@router.get("/livez")
async def livez() -> dict:
    """Touches nothing else: a dead database must not get healthy API processes restarted."""
    return {"status": "alive"}


@router.get("/healthz")
async def healthz(response: Response, session: SessionDep, temporal: TemporalDep) -> dict:
    checks = {"database": True}
    try:
        await in_thread(session, ping)
    except Exception:
        checks["database"] = False
    try:
        checks["temporal"] = await temporal.service_client.check_health()
    except Exception:
        checks["temporal"] = False
    ok = all(checks.values())
    response.status_code = 200 if ok else 503
    return {"status": "ok" if ok else "degraded", **checks}
