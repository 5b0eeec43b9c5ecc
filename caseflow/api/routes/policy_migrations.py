"""Moving open cases to another policy (docs/sla-policy.md "Changing the policy of open cases"):
a preview of what each selected case would change, then applying it, with a reason, as a
durable migration workflow; its progress and a result per case."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field

from caseflow import policy_migration as migrations
from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import PolicyDep, SessionDep, SettingsDep, TemporalDep
from caseflow.api.errors import ServiceUnavailable
from caseflow.api.routes.policy import PolicyChoice, parse_candidate
from caseflow.domain import migration as m
from caseflow.domain.access import Capability
from caseflow.domain.cases import Note, Payload
from caseflow.store import policy_migrations as store

router = APIRouter(prefix="/v1/policy/migrations", tags=["policy"])
Manager = Annotated[Principal, allowed(Capability.maintain_policy)]
Reader = Annotated[Principal, allowed(Capability.check_policy)]
MigrationId = Annotated[str, Path(max_length=40, pattern=r"^PM-[0-9a-f]+$")]


class PreviewRequest(PolicyChoice):
    """The candidate (`policy_yaml` or `policy`; neither: the policy in force) and the cases."""

    selection: m.Selection = Field(default_factory=m.Selection)


class ApplyRequest(Payload):
    reason: Annotated[Note, Field(min_length=1, description="why: recorded on every case")]
    per_minute: int = Field(default=600, ge=1, le=60_000, description="cases moved a minute "
                                                                      "at most")


@router.post("", response_model=m.MigrationView, status_code=201)
async def preview_migration(body: PreviewRequest, principal: Manager, session: SessionDep,
                            temporal: TemporalDep, policy: PolicyDep) -> m.MigrationView:
    """Preview moving the selected open cases to a candidate policy (default: the policy in
    force): per case, each commitment whose due time would move, the rungs fired already (they
    stay fired) and those that would fire at once; cases left alone and why. Nothing changes
    until it is applied. A selection that matches nothing is an empty preview."""
    chosen = parse_candidate(body) if (body.policy_yaml or body.policy) is not None else policy
    try:
        return await migrations.preview(session, temporal, chosen, policy, body.selection,
                                        principal.id)
    except migrations.TemporalAway as error:
        raise ServiceUnavailable(str(error)) from None


@router.post("/{migration_id}/apply", response_model=m.MigrationView, status_code=202)
async def apply_migration(migration_id: MigrationId, body: ApplyRequest, principal: Manager,
                          session: SessionDep, temporal: TemporalDep, policy: PolicyDep,
                          settings: SettingsDep) -> m.MigrationView:
    """Apply a preview: a migration workflow moves its cases (202; follow it with GET). 409 if
    it was applied already, or if the policy in force or any of its cases changed since the
    preview (preview again)."""
    try:
        return await migrations.apply(session, temporal, settings.task_queue, migration_id,
                                      reason=body.reason, per_minute=body.per_minute,
                                      by=principal.id, in_force=policy)
    except migrations.TemporalAway as error:
        raise ServiceUnavailable(str(error)) from None


@router.get("/{migration_id}", response_model=m.MigrationView)
def get_migration(
    migration_id: MigrationId, principal: Reader, session: SessionDep,
    result: Annotated[Literal["pending", "migrated", "left_alone", "refused"] | None,
                      Query(description="only the cases with this result")] = None,
    limit: Annotated[int, Query(ge=0, le=10_000)] = 1000,
) -> m.MigrationView:
    """A migration: its preview, progress (`counts`) and a result per case."""
    return store.status(session, migration_id, result=result, limit=limit)


@router.get("", response_model=list[m.MigrationView])
def list_migrations(principal: Reader, session: SessionDep,
                    limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[m.MigrationView]:
    """Migrations, newest first (counts only: GET one for its cases)."""
    return [store.view(session, row, limit=0) for row in store.listing(session, limit)]
