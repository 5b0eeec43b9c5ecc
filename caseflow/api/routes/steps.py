"""The steps a person may take on a case now, each with the JSON schema of its payload, so a
client (the console) builds its forms from the action rules: GET /v1/cases/{case_id}/actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import SessionDep, SettingsDep, TemporalDep
from caseflow.api.errors import ServiceUnavailable, domain_error_from_rpc
from caseflow.api.routes.cases import CaseId, case_view, known_case
from caseflow.domain.access import Capability, may
from caseflow.domain.cases import ActionRule
from caseflow.domain.enums import Role
from caseflow.domain.kinds import KINDS

router = APIRouter(prefix="/v1/cases", tags=["cases"])


class PersonChoice(BaseModel):
    """A field of the payload that names a person by id: the API checks them and fills in
    `name_field` itself, so a form offers a choice of people and leaves the name out."""

    field: str = Field(description="the id field, e.g. engineer_id")
    name_field: str = Field(description="filled in by the API; not to be sent")
    within: str | None = Field(description="the list field whose items carry the id, if any")
    roles: list[Role] | None = Field(description="the roles the person must have; None: anyone")


class ActionForm(BaseModel):
    action: str = Field(description="POST /v1/cases/{case_id}/actions/{action}")
    summary: str
    payload_schema: dict[str, Any] = Field(description="JSON Schema of the payload (pydantic)")
    people: list[PersonChoice]


class CaseActions(BaseModel):
    case_id: str
    kind: str
    status: str
    actions: list[ActionForm] = Field(
        description="the actions this person may take now, in the order of the kind's "
                    "rules; the workflow still checks the payload when one is sent")


def form(action: str, rule: ActionRule) -> ActionForm:
    return ActionForm(
        action=action, summary=rule.summary, payload_schema=rule.payload.model_json_schema(),
        people=[PersonChoice(field=p.id_field, name_field=p.name_field, within=p.within,
                             roles=sorted(p.roles) if p.roles is not None else None)
                for p in rule.people])


@router.get("/{case_id}/actions", response_model=CaseActions)
async def case_actions(case_id: CaseId,
                       principal: Annotated[Principal, allowed(Capability.read_cases)],
                       session: SessionDep, temporal: TemporalDep,
                       settings: SettingsDep) -> CaseActions:
    """What this person may do on the case now, as its workflow's validator would judge it
    before looking at a payload: allowed in the case's state, to their role and to them (an
    engineer on a case assigned to them, paged for it, on its team; an action's owner). Empty
    for a role that reports no steps (an auditor), and for a closed case."""
    row = await known_case(session, case_id, principal)
    kind = KINDS[row.kind]
    view = await case_view(temporal, session, settings, row)
    names: list[str] = []
    if may(principal.role, Capability.report_steps) and view.closed_at is None:
        try:
            names = await temporal.get_workflow_handle(case_id).query(
                "allowed_for", principal.actor, result_type=list[str],
                rpc_timeout=timedelta(seconds=settings.query_timeout_seconds))
        except WorkflowQueryFailedError as error:
            raise ServiceUnavailable(f"case {case_id} could not answer: {error.message}") \
                from None
        except RPCError as error:
            raise await domain_error_from_rpc(temporal, error, case_id) from None
    return CaseActions(
        case_id=case_id, kind=kind.name, status=str(getattr(view, "status", row.status)),
        actions=[form(name, kind.rules[name]) for name in names if name in kind.rules])
