"""Bearer tokens to principals, and the role check each route declares."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from caseflow.domain.enums import Role
from caseflow.domain.records import Actor
from caseflow.store import directory

bearer = HTTPBearer(auto_error=False, description="API token (cf_...)")


class Principal(BaseModel):
    id: str
    name: str
    role: Role
    hospital_id: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(id=self.id, name=self.name, role=self.role)


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None:
        raise _unauthorized("missing bearer token")
    sessions = request.app.state.sessions

    def lookup() -> Principal | None:
        with sessions() as session:
            person = directory.principal_for_token(session, credentials.credentials,
                                                   datetime.now(timezone.utc))
            if person is None:
                return None
            return Principal(id=person.id, name=person.name, role=Role(person.role),
                             hospital_id=person.hospital_id)

    principal = await run_in_threadpool(lookup)
    if principal is None:
        raise _unauthorized("unknown, expired or revoked token")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role):  # type: ignore[no-untyped-def]
    """A dependency that lets only these roles through (403 for any other)."""
    allowed = frozenset(roles)

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise HTTPException(403, f"a {principal.role.value} may not do this; allowed: {names}")
        return principal

    return Depends(check)


READERS = (Role.hotline, Role.supervisor, Role.engineer, Role.manager, Role.director,
           Role.auditor, Role.admin)
