"""The routes every kind of case gets from its registry entry (caseflow/domain/kinds.py), made
for each app by `router(KINDS)`:

- `POST /v1/<collection>` opens one (kinds a person opens), idempotent on Idempotency-Key;
- `GET /v1/cases/{case_id}` answers the view of whichever kind the case is;
- `POST /v1/cases/{case_id}/actions/{action}` takes a step of any kind, and each kind's actions
  as operations of their own, with their payload's schema in OpenAPI, so a client generated from
  /openapi.json knows what `diagnose` takes: POST /v1/repairs/{case_id}/actions/diagnose, ...;
- `GET /v1/kinds`: the kinds, for the console (its intake forms and kind names).
"""

# No `from __future__ import annotations`: the endpoints are made per kind and action, and
# FastAPI reads their annotations (the intake or payload model of each) as objects.

from collections.abc import Mapping
from typing import Annotated, Any, Union

from fastapi import APIRouter, Body, Header, Response
from pydantic import BaseModel, Field

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import PolicyDep, SessionDep, SettingsDep, TemporalDep
from caseflow.api.opening import CaseCreated, Context, IdempotencyKey, open_case, opening_of
from caseflow.api.routes.cases import CaseId, act, get_case, take_step
from caseflow.domain.access import Capability
from caseflow.domain.cases import ActionRule, CaseKind

Stepper = Annotated[Principal, allowed(Capability.report_steps)]
Reader = Annotated[Principal, allowed(Capability.read_cases)]
StepKey = Annotated[str, Header(
    alias="Idempotency-Key", min_length=8, max_length=200,
    description="unique per step; a retry with the same key is the same step")]


class KindAction(BaseModel):
    name: str
    summary: str
    roles: list[str]
    payload: str = Field(description="its payload's schema in /openapi.json")


class KindPublic(BaseModel):
    """A kind of case as the console needs it."""

    name: str
    prefix: str = Field(description="its case numbers: <prefix>-<local day>-<number>")
    collection: str = Field(description="POST /v1/<collection> opens one (if `open_with`)")
    open_with: str | None = Field(description="the capability that opens one over the API; "
                                              "null: another case or a plan opens it")
    intake_schema: str | None = Field(description="the schema of its intake in /openapi.json")
    desk: bool = Field(description="opened at the hotline's desk (an intake form)")
    statuses: list[str]
    actions: list[KindAction]


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in text.replace("-", "_").split("_"))


def router(kinds: Mapping[str, CaseKind]) -> APIRouter:
    """The routes of the registered kinds, for one app."""
    made = APIRouter()
    views = tuple(kind.view for kind in kinds.values())
    case_view: Any = Annotated[Union[views], Field(discriminator="kind")] if len(views) > 1 \
        else views[0]  # noqa: UP007 (a union made of a tuple)
    for kind in kinds.values():
        if kind.intake is not None:
            _open(made, kind)
    made.add_api_route("/v1/cases/{case_id}", get_case, methods=["GET"], response_model=case_view,
                       tags=["cases"])
    made.add_api_route("/v1/cases/{case_id}/actions/{action}", act, methods=["POST"],
                       response_model=case_view, tags=["cases"])
    for kind in kinds.values():
        for action, rule in kind.rules.items():
            _operation(made, kind, action, rule)
    made.add_api_route("/v1/kinds", _listing(kinds), methods=["GET"],
                       response_model=list[KindPublic], tags=["cases"],
                       summary="The kinds of case")
    return made


def _open(made: APIRouter, kind: CaseKind) -> None:
    assert kind.intake is not None and kind.open_with is not None
    intake_model = kind.intake
    verb = kind.opens_as or f"open_{kind.name}"

    async def endpoint(
        body: intake_model,  # type: ignore[valid-type]
        response: Response,
        principal: Annotated[Principal, allowed(kind.open_with)],
        idempotency_key: IdempotencyKey,
        session: SessionDep, temporal: TemporalDep, policy: PolicyDep, settings: SettingsDep,
    ) -> CaseCreated:
        context = Context(principal, idempotency_key, session, temporal, policy, settings)
        return await open_case(opening_of(kind, body, principal, idempotency_key), body,
                               context, response)

    made.add_api_route(
        f"/v1/{kind.collection}", endpoint, methods=["POST"], status_code=201,
        response_model=CaseCreated, tags=[kind.collection],
        operation_id=f"{verb}_v1_{kind.collection}_post",
        summary=verb.replace("_", " ").title(),
        description=kind.opens_summary,
        responses={200: {"model": CaseCreated, "description": "the same key again"}})


def _payload(kind: CaseKind, action: str, rule: ActionRule) -> type[BaseModel]:
    """The action's payload model under a name of its own (`RepairDiagnose`), so every kind's
    `callback` or `assign` is a schema of its own in OpenAPI; it validates as the rule's."""
    name = f"{_camel(kind.name)}{_camel(action)}"
    return type(name, (rule.payload,), {"__module__": __name__,
                                        "__doc__": rule.payload.__doc__ or rule.summary})


def _operation(made: APIRouter, kind: CaseKind, action: str, rule: ActionRule) -> None:
    body_model = _payload(kind, action, rule)

    async def endpoint(
        case_id: CaseId, principal: Stepper, session: SessionDep, temporal: TemporalDep,
        settings: SettingsDep, idempotency_key: StepKey,
        body: Annotated[body_model | None, Body()] = None,  # type: ignore[valid-type]
    ) -> BaseModel:
        payload = body.model_dump(mode="json", exclude_unset=True) if body is not None else {}
        return await take_step(case_id, kind.name, action, payload, principal, session,
                               temporal, settings, idempotency_key)

    who = ", ".join(sorted(r.value for r in rule.roles))
    made.add_api_route(
        f"/v1/{kind.collection}/{{case_id}}/actions/{action}", endpoint, methods=["POST"],
        response_model=kind.view, tags=[f"{kind.name} actions"],
        operation_id=f"{kind.name}_{action.replace('-', '_')}",
        summary=f"{action}: {rule.summary}",
        description=f"A step of a {kind.name}: {rule.summary}. Who: {who} (then the case's "
                    "own rule: an engineer acts on a case assigned to them). Same "
                    "Idempotency-Key again = the same step, taken once. 404 if the case is "
                    f"not a {kind.name}; 409 if the step is not allowed now.")


def _listing(kinds: Mapping[str, CaseKind]):  # type: ignore[no-untyped-def]
    listed = [KindPublic(
        name=kind.name, prefix=kind.prefix, collection=kind.collection,
        open_with=kind.open_with.value if kind.open_with else None,
        intake_schema=kind.intake.__name__ if kind.intake else None, desk=kind.desk,
        statuses=list(kind.status_names()),
        actions=[KindAction(name=action, summary=rule.summary,
                            roles=sorted(r.value for r in rule.roles),
                            payload=_camel(kind.name) + _camel(action))
                 for action, rule in kind.rules.items()])
        for kind in kinds.values()]

    async def kinds_listing(principal: Reader) -> list[KindPublic]:
        """Every kind of case: its number prefix, where it is opened and by whom, its statuses
        and actions (the console builds its intake forms and kind names from it)."""
        return listed

    return kinds_listing
