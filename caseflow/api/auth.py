"""Bearer tokens to principals, and the one capability check each route declares
(domain/access.py is the matrix; docs/security.md shows it)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from caseflow.api.deps import SessionDep, in_thread
from caseflow.domain.access import MATRIX, Capability, CaseScope, case_scope
from caseflow.domain.enums import Role
from caseflow.domain.errors import NotPermitted
from caseflow.domain.records import Actor
from caseflow.store import directory

bearer = HTTPBearer(auto_error=False, description="API token (cf_...)")


class Principal(BaseModel):
    id: str
    name: str
    role: Role
    hospital_id: str | None = None
    token_id: int | None = None

    @property
    def actor(self) -> Actor:
        return Actor(id=self.id, name=self.name, role=self.role)

    @property
    def scope(self) -> CaseScope:
        return case_scope(self.role, self.id, self.hospital_id)


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


async def current_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None:
        raise _unauthorized("missing bearer token")
    found = await in_thread(session, directory.principal_for_token, credentials.credentials,
                            datetime.now(timezone.utc))
    if found is None:
        raise _unauthorized("unknown, expired or revoked token")
    person, token = found
    return Principal(id=person.id, name=person.name, role=Role(person.role),
                     hospital_id=person.hospital_id, token_id=token.id)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]

# Capabilities whose requests count against a per-token rate: (bucket, the setting, in words).
_CREATE = ("create", "rate_create_per_minute", "new cases")
RATED = {Capability.open_repair: _CREATE, Capability.open_complaint: _CREATE,
         Capability.open_emergency: _CREATE, Capability.open_installation: _CREATE,
         Capability.report_steps: ("act", "rate_actions_per_minute", "steps")}


def allowed(capability: Capability):  # type: ignore[no-untyped-def]
    """The dependency of a route that needs `capability`: 403 for a role without it, 429 for a
    token over its rate."""
    roles = MATRIX[capability]

    async def check(request: Request, principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            names = ", ".join(sorted(r.value for r in roles))
            what = capability.value.replace("_", " ")
            raise NotPermitted(f"role {principal.role.value} may not {what}; allowed: {names}")
        if capability in RATED:
            bucket, setting, what = RATED[capability]
            request.app.state.limiter.take(bucket, str(principal.token_id),
                                           getattr(request.app.state.settings, setting), what)
        return principal

    check.capability = capability  # type: ignore[attr-defined]  # read by the matrix tests
    return Depends(check)
