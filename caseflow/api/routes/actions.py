"""Each kind's actions as operations of their own, with their payload's schema in OpenAPI, so a
client generated from /openapi.json knows what `diagnose` takes:
POST /v1/repairs/{case_id}/actions/diagnose, /v1/complaints/{case_id}/actions/plan, ...
They take the same steps as POST /v1/cases/{case_id}/actions/{action}, which stays."""

# No `from __future__ import annotations`: the endpoints are made per action, and FastAPI reads
# their annotations (the payload model of each) as objects.

from typing import Annotated

from fastapi import APIRouter, Body, Header
from pydantic import BaseModel

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import SessionsDep, SettingsDep, TemporalDep
from caseflow.api.kinds import KINDS, Kind
from caseflow.api.routes.cases import CaseId, take_step
from caseflow.domain.access import Capability
from caseflow.domain.cases import ActionRule

router = APIRouter()
Stepper = Annotated[Principal, allowed(Capability.report_steps)]
IdempotencyKey = Annotated[str, Header(
    alias="Idempotency-Key", min_length=8, max_length=200,
    description="unique per step; a retry with the same key is the same step")]
# Where each kind's cases are opened (POST /v1/repairs ...); visits are opened by their plan.
PATHS = {"repair": "repairs", "complaint": "complaints", "emergency": "emergencies",
         "installation": "installations", "maintenance": "visits"}


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in text.replace("-", "_").split("_"))


def _payload(kind: Kind, action: str, rule: ActionRule) -> type[BaseModel]:
    """The action's payload model under a name of its own (`RepairDiagnose`), so every kind's
    `callback` or `assign` is a schema of its own in OpenAPI; it validates as the rule's."""
    name = f"{_camel(kind.name)}{_camel(action)}"
    return type(name, (rule.payload,), {"__module__": __name__,
                                        "__doc__": rule.payload.__doc__ or rule.summary})


def _operation(kind: Kind, action: str, rule: ActionRule) -> None:
    body_model = _payload(kind, action, rule)

    async def endpoint(
        case_id: CaseId, principal: Stepper, sessions: SessionsDep, temporal: TemporalDep,
        settings: SettingsDep, idempotency_key: IdempotencyKey,
        body: Annotated[body_model | None, Body()] = None,  # type: ignore[valid-type]
    ) -> BaseModel:
        payload = body.model_dump(mode="json", exclude_unset=True) if body is not None else {}
        return await take_step(case_id, kind.name, action, payload, principal, sessions,
                               temporal, settings, idempotency_key)

    who = ", ".join(sorted(r.value for r in rule.roles))
    router.add_api_route(
        f"/v1/{PATHS[kind.name]}/{{case_id}}/actions/{action}", endpoint, methods=["POST"],
        response_model=kind.view, tags=[f"{kind.name} actions"],
        operation_id=f"{kind.name}_{action.replace('-', '_')}",
        summary=f"{action}: {rule.summary}",
        description=f"A step of a {kind.name}: {rule.summary}. Who: {who} (then the case's "
                    "own rule: an engineer acts on a case assigned to them). Same "
                    "Idempotency-Key again = the same step, taken once. 404 if the case is "
                    f"not a {kind.name}; 409 if the step is not allowed now.")


for _kind in KINDS.values():
    for _action, _rule in _kind.rules.items():
        _operation(_kind, _action, _rule)
